using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Spectrum.Camera.Bench.Imaging;

/// <summary>
/// Frames made at run time by the ffmpeg command-line tool, as the imaging tests make them: one frame of lavfi's
/// testsrc2 (sharp colour edges, gradients, text) as raw video, or as a JPEG from ffmpeg's MJPEG encoder. Cached per
/// process, since every benchmark case of a suite asks for the same few.
/// </summary>
internal static class TestFrames
{
    private static readonly ConcurrentDictionary<string, byte[]> Cache = new();

    /// <summary>A raw frame in ffmpeg pixel format <paramref name="pixelFormat"/> (yuyv422, nv12, yuv420p).</summary>
    public static byte[] Raw(string pixelFormat, int width, int height) =>
        Cache.GetOrAdd($"raw {pixelFormat} {width}x{height}", _ =>
            Run("-f", "lavfi", "-i", Size("testsrc2=size=", width, height), "-frames:v", "1", "-pix_fmt", pixelFormat, "-f", "rawvideo"));

    /// <summary>
    /// A baseline JPEG at quality scale 3 (about what webcams send) with the standard Huffman tables, in
    /// <paramref name="pixelFormat"/> (yuvj422p as most webcams, or yuvj420p).
    /// </summary>
    public static byte[] Jpeg(string pixelFormat, int width, int height) =>
        Cache.GetOrAdd($"jpeg {pixelFormat} {width}x{height}", _ =>
            Run("-f", "lavfi", "-i", Size("testsrc2=size=", width, height), "-frames:v", "1", "-pix_fmt", pixelFormat,
                "-q:v", "3", "-huffman", "default", "-f", "mjpeg"));

    private static string Size(string prefix, int width, int height) =>
        string.Create(CultureInfo.InvariantCulture, $"{prefix}{width}x{height}");

    private static byte[] Run(params string[] arguments)
    {
        var path = Path.Combine(Path.GetTempPath(), $"spectrum-bench-{Environment.ProcessId}-{Guid.NewGuid():N}");
        var start = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in (string[])["-hide_banner", "-nostdin", "-loglevel", "error", "-y", .. arguments, path])
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(start) ?? throw new InvalidOperationException("ffmpeg did not start");
            var errors = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"ffmpeg {string.Join(' ', arguments)} failed: {errors.Result}");
            }

            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
