using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Spectrum.Camera.Imaging;

namespace Spectrum.Camera.Bench.Imaging;

/// <summary>
/// Issue 7, item 3 (raw frames): the project's FrameConverter against ffmpeg's libswscale called in this process on
/// the same 1080p testsrc2 frame, from the same aligned native buffers into packed guest layouts. Both run on one
/// thread (a swscale context is single-threaded unless asked otherwise). Before measuring, each case checks that
/// the two produce the same picture (docs/imaging.md: max |d| 0 unscaled, at most 1 shrinking), so the comparison
/// is of equal work.
/// </summary>
public class ConversionBenchmarks
{
    /// <summary>Largest per-sample difference between ours and swscale's output, per case (read by the summary).</summary>
    public static ConcurrentDictionary<string, int> MaxDifference { get; } = new();

    private PlanarImage? _source;
    private PlanarImage? _ours;
    private PlanarImage? _theirs;
    private FrameConverter? _converter;
    private SwscaleContext? _swscale;

    [ParamsSource(nameof(Cases))]
    public ConversionCase Case { get; set; } = ConversionCase.All[0];

    public static IEnumerable<ConversionCase> Cases => ConversionCase.All;

    [GlobalSetup]
    public void SetUp()
    {
        _source = Case.NewSource();
        TestFrames.Raw(Case.SourceName, ConversionCase.SourceWidth, ConversionCase.SourceHeight).CopyTo(_source.Span);
        _ours = Case.NewDestination();
        _theirs = Case.NewDestination();
        _converter = new FrameConverter(_source.HostFormat, _ours.GuestFormat);
        _swscale = new SwscaleContext(_source, _theirs, Swscale.FlagArea);
        Libswscale();
        Spectrum();
        var difference = Compare.MaxDifference(_ours.Span, _theirs.Span);
        MaxDifference[Case.Key] = difference;
        if (difference > Case.Tolerance)
        {
            throw new InvalidOperationException($"{Case}: ours and swscale differ by {difference} (> {Case.Tolerance}): not the same conversion");
        }
    }

    [GlobalCleanup]
    public void CleanUp()
    {
        _converter?.Dispose();
        _swscale?.Dispose();
        _source?.Dispose();
        _ours?.Dispose();
        _theirs?.Dispose();
    }

    /// <summary>
    /// Not a competitor, the floor: a plain copy of the destination's bytes from the source buffer. A conversion that
    /// reads and writes each byte once cannot be much faster than this; both implementations are compared with it.
    /// </summary>
    [Benchmark]
    public void CopyFloor() => _source!.Span[.._ours!.Length].CopyTo(_ours.Span);

    [Benchmark(Baseline = true)]
    public int Libswscale() => _swscale!.Convert();

    [Benchmark]
    public ConversionResult Spectrum()
    {
        var result = _converter!.Convert(_source!.Span, _ours!.Span);
        return result == ConversionResult.Converted ? result : throw new InvalidOperationException(result.ToString());
    }
}

/// <summary>A raw conversion: camera format and size to guest format and size (all 4:2:x, BT.601 limited range).</summary>
public sealed record ConversionCase(string Key, string Label, uint SourceFourcc, string SourceName, int SourceAv, uint DestinationFourcc, int DestinationAv, int Width, int Height, bool RawTarget)
{
    public const int SourceWidth = 1920, SourceHeight = 1080;

    /// <summary>The five cases: three unscaled conversions (the ≥1.5× target), and 1080p to 720p scaling.</summary>
    public static IReadOnlyList<ConversionCase> All { get; } =
    [
        new("yuyv_to_nv12_1080p", "YUYV>NV12 1080p", HostPixelFormats.Yuyv, "yuyv422", Swscale.AvPixFmtYuyv422, HostPixelFormats.Nv12, Swscale.AvPixFmtNv12, 1920, 1080, true),
        new("yuyv_to_i420_1080p", "YUYV>I420 1080p", HostPixelFormats.Yuyv, "yuyv422", Swscale.AvPixFmtYuyv422, HostPixelFormats.Yu12, Swscale.AvPixFmtYuv420P, 1920, 1080, true),
        new("nv12_to_i420_1080p", "NV12>I420 1080p", HostPixelFormats.Nv12, "nv12", Swscale.AvPixFmtNv12, HostPixelFormats.Yu12, Swscale.AvPixFmtYuv420P, 1920, 1080, true),
        new("nv12_scale_1080p_to_720p", "NV12 1080p>720p", HostPixelFormats.Nv12, "nv12", Swscale.AvPixFmtNv12, HostPixelFormats.Nv12, Swscale.AvPixFmtNv12, 1280, 720, false),
        new("yuyv_1080p_to_nv12_720p", "YUYV 1080p>NV12 720p", HostPixelFormats.Yuyv, "yuyv422", Swscale.AvPixFmtYuyv422, HostPixelFormats.Nv12, Swscale.AvPixFmtNv12, 1280, 720, false),
    ];

    /// <summary>docs/imaging.md's measured agreement with swscale: identical unscaled, within 1 when shrinking.</summary>
    public int Tolerance => RawTarget ? 1 : 2;

    internal PlanarImage NewSource() => new(SourceFourcc, SourceWidth, SourceHeight, Swscale.PixelFormat(SourceName, SourceAv));

    internal PlanarImage NewDestination() => new(DestinationFourcc, Width, Height, Swscale.PixelFormat(AvName(DestinationFourcc), DestinationAv));

    /// <summary>Short enough for BenchmarkDotNet's parameter column (it abbreviates past 20 characters).</summary>
    public override string ToString() => Label;

    private static string AvName(uint fourcc) => fourcc switch
    {
        HostPixelFormats.Nv12 => "nv12",
        HostPixelFormats.Yu12 => "yuv420p",
        _ => "yuyv422",
    };
}

internal static class Compare
{
    public static int MaxDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        var max = 0;
        for (var i = 0; i < a.Length; i++)
        {
            max = Math.Max(max, Math.Abs(a[i] - b[i]));
        }

        return max;
    }
}
