using System.Diagnostics;
using System.Globalization;
using Spectrum.Camera.Imaging;
using Spectrum.Camera.Media.Frames;

namespace Spectrum.Camera.Tests.Imaging;

/// <summary>
/// Quick Stopwatch timings at 1080p for docs/imaging.md; explicit (never part of a normal run) and asserting nothing
/// about time. Run in Release: <c>dotnet test -c Release --filter Name~Timings_at_1080p</c>. Proper
/// BenchmarkDotNet benchmarks come later.
/// </summary>
[Explicit("Measurement for docs/imaging.md, not a test.")]
public class ImagingTimings
{
    private const int Frames = 40;

    [Test]
    public void Timings_at_1080p()
    {
        using var ffmpeg = new FfmpegTool();
        var output = TestContext.Out;
        output.WriteLine("| camera | guest | scalar | Vector128 | Vector256 |");
        output.WriteLine("|---|---|---|---|---|");
        foreach (var source in ImagingTestData.RawSources)
        {
            var picture = ffmpeg.TestPicture(FfmpegTool.PixelFormatName(source), 1920, 1080);
            foreach (var guest in ImagingTestData.GuestFormats)
            {
                Row(output, HostFrameFormat.Packed(source, 1920, 1080), picture, new FrameFormat(guest, 1920, 1080));
            }
        }

        foreach (var source in new[] { HostPixelFormats.Yuyv, HostPixelFormats.Nv12 })
        {
            var picture = ffmpeg.TestPicture(FfmpegTool.PixelFormatName(source), 1920, 1080);
            foreach (var (w, h) in new[] { (1280u, 720u), (640u, 480u), (320u, 240u) })
            {
                Row(output, HostFrameFormat.Packed(source, 1920, 1080), picture, new FrameFormat(PixelFormats.Nv12, w, h));
            }
        }

        foreach (var subsampling in new[] { "yuvj422p", "yuvj420p" })
        {
            var jpeg = ffmpeg.TestJpeg(subsampling, 1920, 1080);
            foreach (var (guest, w, h) in new[] { (PixelFormats.Yuyv, 1920u, 1080u), (PixelFormats.Nv12, 1920u, 1080u), (PixelFormats.Nv12, 1280u, 720u), (PixelFormats.Nv12, 640u, 480u) })
            {
                Row(output, HostFrameFormat.Mjpeg(1920, 1080), jpeg, new FrameFormat(guest, w, h), $"MJPEG {subsampling[4..]} ({jpeg.Length / 1024} KiB)");
            }

            using var decoder = new MjpegDecoder(1920, 1080);
            output.WriteLine($"| MJPEG {subsampling[4..]} decode only | | | | {Milliseconds(() => decoder.Decode(jpeg, out _))} |");
        }
    }

    private static void Row(TextWriter output, HostFrameFormat host, byte[] frame, FrameFormat guest, string? name = null)
    {
        var cells = new List<string>();
        foreach (var level in new[] { SimdLevel.Scalar, SimdLevel.Vector128, SimdLevel.Vector256 })
        {
            if (level > SimdCapabilities.Best)
            {
                cells.Add("n/a");
                continue;
            }

            using var converter = new FrameConverter(host, guest, level);
            var destination = new byte[guest.SizeImage];
            cells.Add(Milliseconds(() => Assert.That(converter.Convert(frame, destination), Is.EqualTo(ConversionResult.Converted))));
        }

        output.WriteLine($"| {name ?? host.ToString()} | {guest} | {string.Join(" | ", cells)} |");
    }

    // Median of Frames runs, in milliseconds, after a warm-up long enough for tiered JIT to promote the kernels
    // (otherwise the first conversions measured run unoptimised tier-0 code and look ten times slower).
    private static string Milliseconds(Action convert)
    {
        for (var i = 0; i < 60; i++)
        {
            convert();
        }

        Thread.Sleep(200);
        for (var i = 0; i < 10; i++)
        {
            convert();
        }

        var times = new double[Frames];
        for (var i = 0; i < Frames; i++)
        {
            var start = Stopwatch.GetTimestamp();
            convert();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        Array.Sort(times);
        return times[Frames / 2].ToString("F2", CultureInfo.InvariantCulture);
    }
}
