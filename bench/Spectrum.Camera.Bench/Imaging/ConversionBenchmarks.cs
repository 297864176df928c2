using System.Collections.Concurrent;
using BenchmarkDotNet.Attributes;
using Spectrum.Camera.Imaging;

namespace Spectrum.Camera.Bench.Imaging;

/// <summary>
/// Raw frames, unscaled and scaled: the project's FrameConverter against ffmpeg's libswscale
/// called in this process on the same testsrc2 frame, from the same aligned native buffers into packed guest layouts.
/// Both run on one thread (a swscale context is single-threaded unless asked otherwise), and both scale the same
/// pixels: swscale is given the converter's centre crop (the 16:9 camera's middle 1440 columns for a 4:3 guest).
/// Before measuring, each case checks that the two produce the same picture (docs/imaging.md: max |d| 0 unscaled,
/// at most 2 shrinking), so the comparison is of equal work.
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

    public static IEnumerable<ConversionCase> Cases => ConversionCase.BenchmarkedCases;

    [GlobalSetup]
    public void SetUp()
    {
        _source = Case.NewSource();
        TestFrames.Raw(ConversionCase.AvName(Case.SourceFourcc), Case.SourceWidth, Case.SourceHeight).CopyTo(_source.Span);
        _ours = Case.NewDestination();
        _theirs = Case.NewDestination();
        _converter = new FrameConverter(_source.HostFormat, _ours.GuestFormat);
        _swscale = new SwscaleContext(_source, _converter.Crop, _theirs, Swscale.FlagArea);
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
    /// Not a competitor, the floor: a plain copy of the destination's bytes from the source buffer. An unscaled
    /// conversion reads and writes about that many bytes and cannot be much faster; a scaled one reads more (the whole
    /// source) and writes that many. Both implementations are compared with it.
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
