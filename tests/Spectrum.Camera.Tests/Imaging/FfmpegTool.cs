using System.Diagnostics;
using System.Globalization;
using Spectrum.Camera.Imaging;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Tests.Imaging;

/// <summary>
/// Runs the ffmpeg command-line tool for the imaging tests: test pictures (lavfi testsrc2), ffmpeg's own
/// conversions, scalings, JPEG encodes and decodes, all through files in a private temporary directory. A missing
/// ffmpeg fails the test (tools/install-deps.sh installs it); it never skips.
/// </summary>
internal sealed class FfmpegTool : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("spectrum-imaging-").FullName;
    private int _files;

    /// <summary>ffmpeg's name for a V4L2 fourcc's raw layout.</summary>
    public static string PixelFormatName(uint fourcc) => fourcc switch
    {
        HostPixelFormats.Yuyv => "yuyv422",
        HostPixelFormats.Uyvy => "uyvy422",
        HostPixelFormats.Nv12 => "nv12",
        HostPixelFormats.Yu12 => "yuv420p",
        _ => throw new ArgumentOutOfRangeException(nameof(fourcc), PixelFormats.ToFourccString(fourcc)),
    };

    /// <summary>One frame of ffmpeg's testsrc2 pattern (sharp colour edges, gradients, text) in <paramref name="pixelFormat"/>.</summary>
    public byte[] TestPicture(string pixelFormat, int width, int height) =>
        Output("-f", "lavfi", "-i", Size("testsrc2=size=", width, height), "-frames:v", "1", "-pix_fmt", pixelFormat, "-f", "rawvideo");

    /// <summary>
    /// ffmpeg's conversion of a raw frame: cropped to <paramref name="crop"/> (unless it is the whole frame), scaled
    /// to <paramref name="outputWidth"/> x <paramref name="outputHeight"/> with swscale <paramref name="flags"/>, in
    /// <paramref name="toFormat"/>.
    /// </summary>
    public byte[] Convert(
        byte[] frame, string fromFormat, int width, int height, CropRegion crop, string toFormat, int outputWidth, int outputHeight, string flags) =>
        Output("-f", "rawvideo", "-pix_fmt", fromFormat, "-s", Size(string.Empty, width, height), "-i", Input(frame),
            "-vf", Filters(width, height, crop, toFormat, outputWidth, outputHeight, flags), "-f", "rawvideo");

    /// <summary>One JPEG of testsrc2 from ffmpeg's MJPEG encoder, in <paramref name="pixelFormat"/> (yuvj420p, yuvj422p, ...).</summary>
    /// <param name="standardHuffmanTables">Encode with the JPEG standard's example Huffman tables (<c>-huffman default</c>) rather than optimised ones.</param>
    public byte[] TestJpeg(string pixelFormat, int width, int height, int quality = 3, bool standardHuffmanTables = false) =>
        Output("-f", "lavfi", "-i", Size("testsrc2=size=", width, height), "-frames:v", "1", "-pix_fmt", pixelFormat,
            "-q:v", quality.ToString(CultureInfo.InvariantCulture), "-huffman", standardHuffmanTables ? "default" : "optimal", "-f", "mjpeg");

    /// <summary>ffmpeg's decode of a JPEG (its own MJPEG decoder), then cropped, scaled and converted like <see cref="Convert"/>.</summary>
    public byte[] DecodeJpeg(byte[] jpeg, int width, int height, CropRegion crop, string toFormat, int outputWidth, int outputHeight, string flags = "area") =>
        Output("-f", "mjpeg", "-i", Input(jpeg), "-vf", Filters(width, height, crop, toFormat, outputWidth, outputHeight, flags), "-f", "rawvideo");

    // One scale filter does size and format, so swscale converts and scales in one step with the given flags.
    private static string Filters(int width, int height, CropRegion crop, string toFormat, int outputWidth, int outputHeight, string flags)
    {
        var cropFilter = crop == new CropRegion(0, 0, width, height)
            ? string.Empty
            : FormattableString.Invariant($"crop={crop.Width}:{crop.Height}:{crop.X}:{crop.Y},");
        return cropFilter + FormattableString.Invariant($"scale={outputWidth}:{outputHeight}:flags={flags},format={toFormat}");
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static string Size(string prefix, int width, int height) =>
        FormattableString.Invariant($"{prefix}{width}x{height}");

    private string Input(byte[] bytes)
    {
        var path = NextPath();
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private byte[] Output(params string[] arguments)
    {
        var path = NextPath();
        Run([.. arguments, path]);
        return File.ReadAllBytes(path);
    }

    private string NextPath() => Path.Combine(_directory, (++_files).ToString(CultureInfo.InvariantCulture));

    private static void Run(string[] arguments)
    {
        var start = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in (string[])["-hide_banner", "-nostdin", "-loglevel", "error", "-y", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("ffmpeg did not start.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"ffmpeg is needed by the imaging tests and could not be run ({e.Message}); tools/install-deps.sh installs it.");
            throw;
        }

        using (process)
        {
            var errors = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.That(process.ExitCode, Is.Zero, $"ffmpeg {string.Join(' ', arguments)}: {errors.Result}");
        }
    }
}
