using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Bench.Imaging;

/// <summary>
/// MJPEG: a 1080p JPEG to a 1080p NV12 guest frame by the project (libjpeg-turbo decode, range
/// mapping to limited range, 4:2:x to 4:2:0) against the same work done with the libraries directly: TurboJPEG's own
/// planar decode followed by swscale (yuvj4xxp to nv12, which also maps the range). The decode alone is measured too,
/// as the floor both stand on. And what a real 1080p webcam feeding a 720p guest costs: a 1080p 4:2:2 JPEG to a 720p
/// NV12 guest (swscale with SWS_AREA scales as it converts).
/// </summary>
public class MjpegBenchmarks
{
    public static ConcurrentDictionary<string, int> MaxDifference { get; } = new();

    private const int Width = 1920, Height = 1080;

    private FrameConverter? _converter;
    private byte[] _jpeg = [];
    private PlanarImage? _ours;
    private PlanarImage? _planes;
    private PlanarImage? _theirs;
    private TurboJpegDecoder? _decoder;
    private SwscaleContext? _swscale;

    /// <summary>yuvj422p (what most webcams send) and yuvj420p JPEGs to 1080p NV12; yuvj422p to 720p NV12.</summary>
    public static IReadOnlyList<string> Cases { get; } = ["yuvj422p", "yuvj420p", "yuvj422p 720p"];

    /// <summary>The JPEG's ffmpeg pixel format, and " 720p" when the guest frame is 1280x720 rather than 1080p.</summary>
    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "yuvj422p";

    public string Key => KeyOf(Case);

    private string Subsampling => Case.Split(' ')[0];

    private (int Width, int Height) Guest => Case.EndsWith(" 720p", StringComparison.Ordinal) ? (1280, 720) : (Width, Height);

    /// <summary>"mjpeg_422p_to_nv12_1080p" and the like.</summary>
    public static string KeyOf(string @case) =>
        $"mjpeg_{@case.Split(' ')[0][4..]}_to_nv12_{(@case.EndsWith(" 720p", StringComparison.Ordinal) ? "720p" : "1080p")}";

    [GlobalSetup]
    public void SetUp()
    {
        _jpeg = TestFrames.Jpeg(Subsampling, Width, Height);
        _converter = new FrameConverter(HostFrameFormat.Mjpeg(Width, Height), new FrameFormat(PixelFormats.Nv12, (uint)Guest.Width, (uint)Guest.Height));
        var is422 = Subsampling == "yuvj422p";
        _planes = PlanarImage.JpegPlanes(Width, Height, is422 ? Height : Height / 2,
            Swscale.PixelFormat(Subsampling, is422 ? Swscale.AvPixFmtYuvj422P : Swscale.AvPixFmtYuvj420P));
        var nv12 = Swscale.PixelFormat("nv12", Swscale.AvPixFmtNv12);
        _ours = new PlanarImage(HostPixelFormats.Nv12, Guest.Width, Guest.Height, nv12);
        _theirs = new PlanarImage(HostPixelFormats.Nv12, Guest.Width, Guest.Height, nv12);
        _decoder = new TurboJpegDecoder(_jpeg, _planes);
        _swscale = new SwscaleContext(_planes, _theirs, Swscale.FlagArea);
        Spectrum();
        TurboJpegThenSwscale();
        var difference = Compare.MaxDifference(_ours.Span, _theirs.Span);
        MaxDifference[Key] = difference;
        if (difference > 3)
        {
            throw new InvalidOperationException($"{Key}: ours and libjpeg-turbo + swscale differ by {difference}: not the same conversion");
        }
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _converter?.Dispose();
        _decoder?.Dispose();
        _swscale?.Dispose();
        _ours?.Dispose();
        _planes?.Dispose();
        _theirs?.Dispose();
    }

    [Benchmark(Baseline = true)]
    public int TurboJpegThenSwscale()
    {
        _decoder!.Decode();
        return _swscale!.Convert();
    }

    [Benchmark]
    public void TurboJpegDecodeOnly() => _decoder!.Decode();

    [Benchmark]
    public ConversionResult Spectrum()
    {
        var result = _converter!.Convert(_jpeg, _ours!.Span);
        return result == ConversionResult.Converted ? result : throw new InvalidOperationException($"{result}: {_converter.LastJpegError}");
    }
}
