using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Spectrum.Camera.Bench.Imaging;

/// <summary>
/// Frames made at run time by the ffmpeg command-line tool, as the imaging tests make them: one frame of lavfi's
/// testsrc2 (sharp colour edges, gradients, text) as raw video, or as a JPEG from ffmpeg's MJPEG encoder (cached per
/// process, since every benchmark case of a suite asks for the same few); or a sequence of JPEG files.
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

    /// <summary>
    /// Writes <paramref name="frames"/> consecutive frames of testsrc2 (it moves in every frame) as JPEG files
    /// 001.jpg, 002.jpg ... into <paramref name="directory"/>, encoded as <see cref="Jpeg"/> encodes one, in
    /// yuvj422p as most webcams send.
    /// </summary>
    public static void WriteJpegSequence(string directory, int frames, int width, int height, uint fps) =>
        Ffmpeg(["-f", "lavfi", "-i", Size("testsrc2=size=", width, height) + string.Create(CultureInfo.InvariantCulture, $":rate={fps}"),
            "-frames:v", frames.ToString(CultureInfo.InvariantCulture), "-pix_fmt", "yuvj422p", "-q:v", "3", "-huffman", "default",
            "-f", "image2", Path.Combine(directory, "%03d.jpg")]);

    private static string Size(string prefix, int width, int height) =>
        string.Create(CultureInfo.InvariantCulture, $"{prefix}{width}x{height}");

    private static byte[] Run(params string[] arguments)
    {
        var path = Path.Combine(Path.GetTempPath(), $"spectrum-bench-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            Ffmpeg([.. arguments, path]);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void Ffmpeg(string[] arguments)
    {
        var start = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in (string[])["-hide_banner", "-nostdin", "-loglevel", "error", "-y", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("ffmpeg did not start");
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ffmpeg {string.Join(' ', arguments)} failed: {errors.Result}");
        }
    }
}
