using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Tests.Imaging;

/// <summary>Base of the fixtures that compare with ffmpeg: one <see cref="FfmpegTool"/> (and temporary directory) per fixture.</summary>
public abstract class FfmpegFixture
{
    private FfmpegTool? _ffmpeg;

    internal FfmpegTool Ffmpeg => _ffmpeg ?? throw new InvalidOperationException("The fixture has not started.");

    [OneTimeSetUp]
    public void StartFfmpeg() => _ffmpeg = new FfmpegTool();

    [OneTimeTearDown]
    public void StopFfmpeg() => _ffmpeg?.Dispose();

    /// <summary>
    /// ffmpeg's frame and ours, sample by sample. ffmpeg is asked for planar output (yuv422p for YUYV): for unscaled
    /// 4:2:0 input its packed YUYV writer sites chroma half a luma row low, while its yuv422p output (and its scaled
    /// YUYV output) use centred siting, as we do.
    /// </summary>
    internal static PlaneComparison Compare(FrameFormat guest, Func<string, byte[]> ffmpegOutput, byte[] ours)
    {
        var yuyv = guest.PixelFormat == PixelFormats.Yuyv;
        var theirs = ffmpegOutput(yuyv ? "yuv422p" : FfmpegTool.PixelFormatName(guest.PixelFormat));
        var theirLayout = yuyv
            ? ImageLayout.ForPlanar(ImageKind.I422, (int)guest.Width, (int)guest.Height, fullRange: false)
            : ImageLayout.ForGuest(guest);
        return PlaneComparison.Of(theirLayout, ImageLayout.ForGuest(guest), theirs, ours);
    }
}
