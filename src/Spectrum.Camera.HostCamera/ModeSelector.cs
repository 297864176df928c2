using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Host;

/// <summary>How well the chosen host mode fits the guest's request.</summary>
public enum ModeMatch
{
    /// <summary>Same size, at least the requested rate: only a format conversion (or a copy) is needed.</summary>
    Exact,

    /// <summary>No exact mode: the smallest mode at least as wide and as tall, at the rate, to be scaled down.</summary>
    ScaleDown,

    /// <summary>No mode covers the request at its rate: the nearest one (upscaled, or slower; see <see cref="ModeSelector"/>).</summary>
    Nearest,
}

/// <summary>The host mode to stream for a guest request, and how it fits.</summary>
public readonly record struct ModeSelection(HostMode Mode, ModeMatch Match);

/// <summary>
/// Picks the host camera mode that feeds a guest format best. A pure function of the camera's modes and the request.
/// </summary>
/// <remarks>
/// Only modes in a convertible format take part (<see cref="IsConvertible"/>: YUYV, UYVY, NV12, YU12/I420, MJPEG,
/// JPEG). Each mode is given the slowest of its intervals that is still at least as fast as the requested rate (so 15
/// fps from a camera offering 30/15/5 is 15, from one offering 30/10 is 30), or its fastest interval when none is; a
/// mode whose driver lists no intervals is taken to reach any rate. Then, in this order:
/// <list type="number">
/// <item><b>Exact</b>: the requested size at the requested rate or faster.</item>
/// <item><b>ScaleDown</b>: the smallest mode (by area, then width) at least as wide and as tall as the request, at the
/// rate; the converter scales it down (and centre-crops when the aspect ratio differs).</item>
/// <item><b>Nearest</b>: the mode that delivers the largest share of the requested pixel rate,
/// min(1, area / requested area) x min(1, fps / requested fps); ties go to the area nearest the request, then to the
/// faster mode. So 640x480 at 25 fps (a share of 0.83) beats 640x360 at 30 (0.75) for a 640x480 at 30 request, and
/// 1280x720 at 30 (0.44) beats 1920x1080 at 10 (0.33) for 1080p at 30.</item>
/// </list>
/// Within one size, formats rank: the guest's own fourcc (a plain copy), then the raw formats YUYV, NV12, YU12,
/// UYVY, then MJPEG/JPEG (which costs a decode). A raw format therefore wins over MJPEG at equal size, but a faster
/// MJPEG mode wins over a raw one that cannot reach the rate (the usual USB 2 webcam: YUYV 1280x720 at 10 fps,
/// MJPEG 1280x720 at 30 fps).
/// </remarks>
public static class ModeSelector
{
    private const uint Mjpeg = 'M' | ((uint)'J' << 8) | ((uint)'P' << 16) | ((uint)'G' << 24);
    private const uint Jpeg = 'J' | ((uint)'P' << 8) | ((uint)'E' << 16) | ((uint)'G' << 24);

    /// <summary>V4L2_PIX_FMT_UYVY.</summary>
    public const uint Uyvy = 'U' | ((uint)'Y' << 8) | ((uint)'V' << 16) | ((uint)'Y' << 24);

    /// <summary>The raw formats the converter takes, in order of preference.</summary>
    public static IReadOnlyList<uint> RawPreference { get; } = [PixelFormats.Yuyv, PixelFormats.Nv12, PixelFormats.Yu12, Uyvy];

    /// <summary>Whether the image converter can take frames of <paramref name="pixelFormat"/>.</summary>
    public static bool IsConvertible(uint pixelFormat) => IsRaw(pixelFormat) || IsJpeg(pixelFormat);

    /// <summary>MJPEG or JPEG: every frame is a JPEG image.</summary>
    public static bool IsJpeg(uint pixelFormat) => pixelFormat is Mjpeg or Jpeg;

    private static bool IsRaw(uint pixelFormat) => pixelFormat is PixelFormats.Yuyv or PixelFormats.Nv12 or PixelFormats.Yu12 or Uyvy;

    /// <summary>
    /// The best host mode for the guest's <paramref name="request"/> at <paramref name="rate"/> (a time per frame; an
    /// invalid one means 30 fps), or null when the camera has no mode in a convertible format.
    /// </summary>
    public static ModeSelection? Select(IEnumerable<CameraMode> modes, FrameFormat request, FrameRate rate)
    {
        ArgumentNullException.ThrowIfNull(modes);
        if (!rate.IsValid)
        {
            rate = FrameRate.FromFps(30);
        }

        Candidate? best = null;
        foreach (var mode in modes)
        {
            if (!IsConvertible(mode.PixelFormat) || mode.Width == 0 || mode.Height == 0)
            {
                continue;
            }

            var candidate = Candidate.For(mode, request, rate);
            if (best is null || candidate.CompareTo(best.Value) < 0)
            {
                best = candidate;
            }
        }

        return best is { } b ? new ModeSelection(new HostMode(b.Mode.PixelFormat, b.Mode.Width, b.Mode.Height, b.Interval), b.Match) : null;
    }

    /// <summary>0 for the guest's own fourcc, 1.. for the raw preference order, then JPEG.</summary>
    private static int RankFormat(uint pixelFormat, uint guestFormat)
    {
        if (pixelFormat == guestFormat)
        {
            return 0;
        }

        var raw = RawPreference.IndexOf(pixelFormat);
        return raw >= 0 ? 1 + raw : 1 + RawPreference.Count;
    }

    private static int IndexOf(this IReadOnlyList<uint> list, uint value)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i] == value)
            {
                return i;
            }
        }

        return -1;
    }

    private readonly record struct Candidate(
        CameraMode Mode, FrameRate Interval, ModeMatch Match, ulong Area, ulong AreaDistance, double Share, int FormatRank,
        bool UnknownRate)
    {
        public static Candidate For(CameraMode mode, FrameFormat request, FrameRate rate)
        {
            var (interval, rateOk, unknown) = PickInterval(mode.Intervals, rate);
            var covers = mode.Width >= request.Width && mode.Height >= request.Height;
            var same = mode.Width == request.Width && mode.Height == request.Height;
            var area = (ulong)mode.Width * mode.Height;
            var requestedArea = (ulong)request.Width * request.Height;
            var match = same && rateOk ? ModeMatch.Exact : covers && rateOk ? ModeMatch.ScaleDown : ModeMatch.Nearest;

            // The share of the requested pixel rate the mode delivers: pixels (up to the request's) times frames per
            // second (up to the request's), over the request's.
            var areaShare = requestedArea == 0 ? 1.0 : Math.Min(1.0, (double)area / requestedArea);
            var rateShare = rateOk ? 1.0 : Math.Min(1.0, interval.FramesPerSecond / rate.FramesPerSecond);
            return new Candidate(mode, interval, match, area, area > requestedArea ? area - requestedArea : requestedArea - area,
                areaShare * rateShare, RankFormat(mode.PixelFormat, request.PixelFormat), unknown);
        }

        /// <summary>Negative when this candidate is better than <paramref name="other"/>.</summary>
        public int CompareTo(Candidate other)
        {
            var c = Match.CompareTo(other.Match);
            if (c != 0)
            {
                return c;
            }

            if (Match == ModeMatch.Nearest)
            {
                c = CompareNearest(other);
                if (c != 0)
                {
                    return c;
                }
            }
            else
            {
                c = Area.CompareTo(other.Area);
                if (c != 0)
                {
                    return c;
                }
            }

            c = FormatRank.CompareTo(other.FormatRank);
            if (c != 0)
            {
                return c;
            }

            // Known rates before unknown ones, then the narrower mode (an arbitrary but stable last word).
            c = UnknownRate.CompareTo(other.UnknownRate);
            return c != 0 ? c : Mode.Width.CompareTo(other.Mode.Width);
        }

        private int CompareNearest(Candidate other)
        {
            var c = other.Share.CompareTo(Share);
            if (c != 0)
            {
                return c;
            }

            c = AreaDistance.CompareTo(other.AreaDistance);
            return c != 0 ? c : FrameRates.CompareSpeed(other.Interval, Interval);
        }

        private static (FrameRate Interval, bool RateOk, bool Unknown) PickInterval(IReadOnlyList<FrameRate> intervals, FrameRate rate)
        {
            FrameRate? slowestOk = null;
            FrameRate? fastest = null;
            foreach (var interval in intervals)
            {
                if (!interval.IsValid)
                {
                    continue;
                }

                if (fastest is null || FrameRates.CompareSpeed(interval, fastest.Value) > 0)
                {
                    fastest = interval;
                }

                if (FrameRates.IsAtLeast(interval, rate) && (slowestOk is null || FrameRates.CompareSpeed(interval, slowestOk.Value) < 0))
                {
                    slowestOk = interval;
                }
            }

            return slowestOk is { } ok ? (ok, true, false) : fastest is { } f ? (f, false, false) : (rate, true, true);
        }
    }
}
