using Spectrum.Camera.Frames;
using Spectrum.Camera.Host;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Producer;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>What became of one frame a camera VM announced.</summary>
internal enum ProducerFrameOutcome
{
    /// <summary>Copied whole into the service's memory: it goes to the consumers.</summary>
    Copied,

    /// <summary>Announced for a ring that is not the stream's (an old one, or none yet): dropped.</summary>
    OtherRing,

    /// <summary>A slot number past the ring's end: a protocol error.</summary>
    BadSlot,

    /// <summary>Within one frame period of the stream's rate of the frames before (beyond the burst): dropped.</summary>
    TooFast,

    /// <summary>The slot did not hold the announced frame, or the sequence did not move forward: dropped.</summary>
    Stale,

    /// <summary>The camera VM rewrote the slot while the service copied it: dropped.</summary>
    Torn,
}

/// <summary>
/// One stream of a camera VM: the format it announced (a menu format, size and rate, checked before anything is
/// allocated), the ring the service made for exactly that format, the service's copy of the newest frame, and the
/// pacing that drops frames beyond the stream's rate. Frames are never parsed: each is <see cref="Format"/>'s packed
/// size of raw pixels, copied once out of the ring and converted from the copy.
/// </summary>
internal sealed class ProducerStream : IDisposable
{
    private readonly FrameRateLimit _limit;
    private readonly MemoryFrameSink _copy;
    private bool _hasSequence;
    private ulong _lastSequence;

    private ProducerStream(FrameFormat format, FrameRate rate, int ringSlots)
    {
        Format = format;
        Rate = rate;
        Ring = new ProducerFrameRing(ringSlots, (int)format.SizeImage);
        _copy = new MemoryFrameSink((int)format.SizeImage);
        // A producer that fell behind can have at most every slot announced and unread: that is the largest burst a
        // well-behaved one sends when it catches up.
        _limit = new FrameRateLimit(rate, ringSlots);
    }

    public FrameFormat Format { get; }

    public FrameRate Rate { get; }

    public ProducerFrameRing Ring { get; }

    /// <summary>The last frame <see cref="Receive"/> copied (valid after <see cref="ProducerFrameOutcome.Copied"/>).</summary>
    public ReadOnlyMemory<byte> Frame => _copy.WrittenMemory;

    /// <summary>The mode streaming, as the mode planner describes camera modes.</summary>
    public HostMode Mode => new(Format.PixelFormat, Format.Width, Format.Height, Rate);

    /// <summary>
    /// The stream <paramref name="started"/> announces, with a ring of <paramref name="ringSlots"/> slots; null, and
    /// why, when it is not a format, size and rate of <paramref name="menu"/> or its size_image is not the packed size.
    /// </summary>
    public static ProducerStream? Open(ProducerStreamStarted started, StableMenu menu, int ringSlots, out string error)
    {
        ArgumentNullException.ThrowIfNull(started);
        ArgumentNullException.ThrowIfNull(menu);
        var format = new FrameFormat(started.PixelFormat, started.Width, started.Height);
        var rate = new FrameRate(started.IntervalNumerator, started.IntervalDenominator);
        if (!menu.Contains(started.PixelFormat))
        {
            error = $"pixel format {PixelFormats.ToFourccString(started.PixelFormat)} is not on the camera VM's menu ({menu})";
        }
        else if (!menu.Contains(format))
        {
            error = $"size {started.Width}x{started.Height} is not on the camera VM's menu ({menu})";
        }
        else if (started.SizeImage != format.SizeImage)
        {
            error = $"size_image {started.SizeImage} is not {format.SizeImage}, the packed size of {format}";
        }
        else if (format.SizeImage > FrameRingLayout.MaxFrameSize)
        {
            error = $"{format} frames are larger than a ring carries ({FrameRingLayout.MaxFrameSize} bytes)";
        }
        else if (!rate.IsValid || !menu.Rates.Contains(rate))
        {
            error = $"frame interval {started.IntervalNumerator}/{started.IntervalDenominator} s is not on the camera VM's menu ({menu})";
        }
        else
        {
            error = string.Empty;
            return new ProducerStream(format, rate, ringSlots);
        }

        return null;
    }

    /// <summary>
    /// Takes one announced frame that arrived at <paramref name="nowNanoseconds"/>: checks it names this ring, a slot
    /// of it, a sequence after the last one copied and a moment within the stream's rate, then copies it once out of
    /// the ring with the seqlock check.
    /// </summary>
    public ProducerFrameOutcome Receive(ProducerFrame frame, long nowNanoseconds)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.RingId != Ring.Id)
        {
            return ProducerFrameOutcome.OtherRing;
        }

        if (frame.Slot >= (uint)Ring.Layout.SlotCount)
        {
            return ProducerFrameOutcome.BadSlot;
        }

        if (_hasSequence && frame.Sequence <= _lastSequence)
        {
            return ProducerFrameOutcome.Stale;
        }

        if (!_limit.TryAdmit(nowNanoseconds))
        {
            return ProducerFrameOutcome.TooFast;
        }

        _copy.Reset();
        switch (Ring.CopyFrame((int)frame.Slot, frame.Sequence, _copy))
        {
            case RingReadResult.Copied:
                _hasSequence = true;
                _lastSequence = frame.Sequence;
                return ProducerFrameOutcome.Copied;
            case RingReadResult.Torn:
                _copy.Reset();
                return ProducerFrameOutcome.Torn;
            default:
                return ProducerFrameOutcome.Stale;
        }
    }

    public void Dispose() => Ring.Dispose();
}
