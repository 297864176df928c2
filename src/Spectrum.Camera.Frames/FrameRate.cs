namespace Spectrum.Camera.Frames;

/// <summary>
/// A frame rate stored the way V4L2 stores it: as a time per frame in seconds, the fraction <c>struct v4l2_fract</c>
/// carries in ENUM_FRAMEINTERVALS and G/S_PARM <c>timeperframe</c>. 30 fps is 1/30 (Numerator 1, Denominator 30),
/// so the two fields go to the wire as they are and are never read upside down.
/// </summary>
/// <remarks>
/// Equality compares the values, not the spelling: 2/60 equals 1/30, because a guest may write either and both
/// mean the same pacing. Fractions with a zero part (which V4L2 uses for "no preference") are equal only to
/// fractions that reduce to the same thing (0/5 equals 0/1; 3/0 equals 1/0).
/// </remarks>
public readonly record struct FrameRate(uint Numerator, uint Denominator)
{
    private const ulong NanosecondsPerSecond = 1_000_000_000;

    /// <summary>The rate of <paramref name="framesPerSecond"/> whole frames per second, i.e. the interval 1/fps.</summary>
    public static FrameRate FromFps(uint framesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfZero(framesPerSecond);
        return new FrameRate(1, framesPerSecond);
    }

    /// <summary>Whether both parts are nonzero, so the fraction describes a real pacing.</summary>
    public bool IsValid => Numerator != 0 && Denominator != 0;

    /// <summary>Frames per second (denominator / numerator); 0 when the interval is not <see cref="IsValid"/>.</summary>
    public double FramesPerSecond => IsValid ? (double)Denominator / Numerator : 0;

    /// <summary>The length of one frame period in nanoseconds, rounded down.</summary>
    public long PeriodNanoseconds => ElapsedNanoseconds(1);

    /// <summary>The length of one frame period, rounded down to the 100 ns resolution of <see cref="TimeSpan"/>.</summary>
    public TimeSpan Period => TimeSpan.FromTicks(PeriodNanoseconds / TimeSpan.NanosecondsPerTick);

    /// <summary>
    /// The time from the start of frame 0 to the start of frame <paramref name="frames"/>, in nanoseconds, rounded
    /// down. Computing each deadline from the frame count this way, instead of adding a rounded period again and
    /// again, keeps a timer at 1/30 s from drifting (33,333,333 ns per frame would lose 10 µs a second).
    /// </summary>
    public long ElapsedNanoseconds(ulong frames)
    {
        if (!IsValid)
        {
            throw new InvalidOperationException($"The time per frame {this} has a zero part and no period.");
        }

        // 128-bit so that any frame count times any numerator times 1e9 cannot overflow before the division.
        var nanoseconds = (UInt128)frames * Numerator * NanosecondsPerSecond / Denominator;
        return nanoseconds > long.MaxValue ? long.MaxValue : (long)nanoseconds;
    }

    /// <summary>Whether both rates reduce to the same fraction.</summary>
    public bool Equals(FrameRate other)
    {
        var (n1, d1) = Reduce(this);
        var (n2, d2) = Reduce(other);
        return n1 == n2 && d1 == d2;
    }

    /// <summary>Hashes the reduced fraction, consistent with <see cref="Equals(FrameRate)"/>.</summary>
    public override int GetHashCode() => Reduce(this).GetHashCode();

    /// <summary>"1/30", the v4l2-ctl spelling.</summary>
    public override string ToString() => $"{Numerator}/{Denominator}";

    private static (uint Numerator, uint Denominator) Reduce(FrameRate interval)
    {
        var gcd = Gcd(interval.Numerator, interval.Denominator);
        return gcd == 0 ? (0, 0) : (interval.Numerator / gcd, interval.Denominator / gcd);
    }

    private static uint Gcd(uint a, uint b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }
}
