using System.Globalization;
using System.Text.Json;
using Spectrum.Camera.Media.Frames;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.Cli;

/// <summary>
/// spectrum-camera verify-frames: checks a raw capture file (v4l2-ctl --stream-to, ffmpeg -f rawvideo, gst filesink)
/// against the test pattern: every frame exact, frame numbers strictly increasing. Used by the end-to-end tests.
/// </summary>
internal static class VerifyFramesCommand
{
    private const string Help = """
        Usage: spectrum-camera verify-frames --format FOURCC --size WxH [--min-frames N] [--json] FILE

        Splits FILE into frames of the format's packed size and checks each against the test pattern: exact bytes,
        decodable frame number, numbers strictly increasing (gaps are allowed: the device drops frames when no buffer
        is queued). Exit status 0 when every frame verifies and there are at least N (default 1), else 1.

        Options:
          --format FOURCC   YUYV, NV12 or YU12.
          --size WxH        Frame size, e.g. 640x480.
          --min-frames N    Fewest frames that must be present (default 1).
          --json            Print the report as one JSON object.
        """;

    public static int Run(string[] args)
    {
        var cl = CommandLine.Parse(args, ["--format", "--size", "--min-frames"], ["--json"]);
        if (cl.HelpRequested)
        {
            Console.Out.WriteLine(Help);
            return 0;
        }

        if (cl.Positional.Count != 1)
        {
            throw new UsageException("verify-frames takes exactly one FILE");
        }

        if (!PixelFormats.TryParseFourcc(cl.Require("--format"), out var pixelFormat) || !PixelFormats.IsSupported(pixelFormat))
        {
            throw new UsageException("--format must be YUYV, NV12 or YU12");
        }

        var size = cl.Require("--size").Split('x');
        if (size.Length != 2 || !uint.TryParse(size[0], NumberStyles.None, CultureInfo.InvariantCulture, out var width) ||
            !uint.TryParse(size[1], NumberStyles.None, CultureInfo.InvariantCulture, out var height))
        {
            throw new UsageException("--size must look like 640x480");
        }

        var format = new FrameFormat(pixelFormat, width, height);
        if (!format.IsValid)
        {
            throw new UsageException($"{format} is not a valid frame format (even sizes, supported fourcc)");
        }

        var minFrames = 1;
        if (cl.Get("--min-frames") is { } m && !int.TryParse(m, NumberStyles.None, CultureInfo.InvariantCulture, out minFrames))
        {
            throw new UsageException("--min-frames must be a whole number");
        }

        var report = TestPatternVerifier.VerifyStream(format, File.ReadAllBytes(cl.Positional[0]));
        var ok = report.IsCleanTestPatternStream && report.Frames >= minFrames;
        if (cl.Has("--json"))
        {
            using var json = new Utf8JsonWriter(Console.OpenStandardOutput());
            json.WriteStartObject();
            json.WriteString("file", cl.Positional[0]);
            json.WriteString("format", format.ToString());
            json.WriteNumber("frames", report.Frames);
            json.WriteNumber("verified", report.ExactFrames);
            json.WriteNumber("black", report.BlackFrames);
            json.WriteNumber("trailing_bytes", report.TrailingBytes);
            json.WriteBoolean("strictly_increasing", report.StrictlyIncreasing);
            json.WriteNumber("skipped_numbers", report.SkippedNumbers);
            json.WriteBoolean("ok", ok);
            json.WriteEndObject();
            json.Flush();
            Console.Out.WriteLine();
        }
        else
        {
            Console.Out.WriteLine(
                $"{cl.Positional[0]}: {report.Frames} frames of {format}, {report.ExactFrames} exact test-pattern frames, " +
                $"numbers {report.FirstFrameNumber}..{report.LastFrameNumber}, " +
                (report.StrictlyIncreasing ? "in order" : $"OUT OF ORDER at frame {report.FirstOutOfOrderIndex}") +
                (report.TrailingBytes > 0 ? $", {report.TrailingBytes} trailing bytes" : "") +
                (ok ? ": OK" : ": FAILED"));
        }

        return ok ? 0 : 1;
    }
}
