using Spectrum.Camera.Host;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>
/// The rules that turn several guests' requests into one camera mode: pure functions, so the feeds only apply them.
/// </summary>
/// <remarks>
/// <para><see cref="Plan"/>: the planning request is the largest size asked (by area, then width), in the fourcc of a
/// request of that size (YUYV, then NV12, then YU12 when several fourccs ask for it: only a tie-break for
/// <see cref="ModeSelector"/>'s "the guest's own fourcc" preference), at the fastest rate any request asked (30 fps
/// when none gave a valid rate). <see cref="ModeSelector.Select"/> then weighs size against rate as it does for one
/// guest, so one mode serves everybody: every guest gets at least its size and rate when the camera has it, the
/// converter scales each output group down from there, and the service's pacing drops frames for slower guests.</para>
/// <para><see cref="MustReopen"/>: a re-plan re-opens the camera (a short gap of black for every guest) only when
/// the selection changes and the mode streaming now covers neither the new plan nor the mode selected for it. So a
/// larger or faster request re-opens, while a guest leaving (a smaller plan) keeps the current mode until the camera
/// closes, and so does a plan no mode can meet (60 fps from a camera whose fastest is 30) when the current mode is
/// already as large and fast as the one selected for it.</para>
/// </remarks>
public static class FeedModePlanner
{
    /// <summary>The rate planned when no request gives a valid one (the same default as <see cref="ModeSelector"/>).</summary>
    public static FrameRate DefaultRate { get; } = FrameRate.FromFps(30);

    private static readonly uint[] FourccPreference = [PixelFormats.Yuyv, PixelFormats.Nv12, PixelFormats.Yu12];

    /// <summary>The one request the camera mode is selected for.</summary>
    /// <exception cref="ArgumentException"><paramref name="requests"/> is empty.</exception>
    public static StreamRequest Plan(IReadOnlyList<StreamRequest> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        if (requests.Count == 0)
        {
            throw new ArgumentException("at least one stream request is needed", nameof(requests));
        }

        var format = requests[0].Format;
        var rate = default(FrameRate);
        foreach (var request in requests)
        {
            if (IsLarger(request.Format, format))
            {
                format = request.Format;
            }

            if (request.Rate.IsValid && (!rate.IsValid || FrameRates.CompareSpeed(request.Rate, rate) > 0))
            {
                rate = request.Rate;
            }
        }

        return new StreamRequest(format, rate.IsValid ? rate : DefaultRate);
    }

    /// <summary>
    /// Whether the camera, streaming <paramref name="current"/>, must be re-opened in <paramref name="selected"/>
    /// (what <see cref="ModeSelector"/> chose for <paramref name="plan"/>): only when they differ and
    /// <paramref name="current"/> covers neither the plan nor <paramref name="selected"/> (at least its width, height
    /// and rate).
    /// </summary>
    public static bool MustReopen(HostMode current, HostMode selected, StreamRequest plan) =>
        current != selected && !Covers(current, plan)
        && !Covers(current, new StreamRequest(new FrameFormat(selected.PixelFormat, selected.Width, selected.Height), selected.Interval));

    /// <summary>
    /// Whether <paramref name="mode"/> serves <paramref name="plan"/> without upscaling or a slower rate (a mode whose
    /// driver gave no interval is taken to reach any rate, as <see cref="ModeSelector"/> does).
    /// </summary>
    public static bool Covers(HostMode mode, StreamRequest plan) =>
        mode.Width >= plan.Format.Width
        && mode.Height >= plan.Format.Height
        && (!mode.Interval.IsValid || !plan.Rate.IsValid || FrameRates.IsAtLeast(mode.Interval, plan.Rate));

    // Larger area, then wider; at the same size, the preferred fourcc.
    private static bool IsLarger(FrameFormat a, FrameFormat b)
    {
        var c = ((ulong)a.Width * a.Height).CompareTo((ulong)b.Width * b.Height);
        if (c == 0)
        {
            c = a.Width.CompareTo(b.Width);
        }

        return c > 0 || (c == 0 && Rank(a.PixelFormat) < Rank(b.PixelFormat));
    }

    private static int Rank(uint fourcc)
    {
        var i = Array.IndexOf(FourccPreference, fourcc);
        return i < 0 ? FourccPreference.Length : i;
    }
}
