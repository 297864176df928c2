using System.Globalization;
using System.Text.Json;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.Cli;

/// <summary>
/// spectrum-camera verify-frames: checks a raw capture file (v4l2-ctl --stream-to, ffmpeg -f rawvideo, gst filesink)
/// against the test pattern: every frame exact, frame numbers strictly increasing. Used by the end-to-end tests.
/// With --allow-black (the permission test: a denied VM sees black frames) black frames are accepted too and every
/// frame's class is reported.
/// </summary>
internal static class VerifyFramesCommand
{
    private const string Help = """
        Usage: spectrum-camera verify-frames --format FOURCC --size WxH [--min-frames N] [--allow-black] [--json] FILE

        Splits FILE into frames of the format's packed size and checks each against the test pattern: exact bytes,
        decodable frame number, numbers strictly increasing (gaps are allowed: the device drops frames when no buffer
        is queued).

        Options:
          --format FOURCC   YUYV, NV12 or YU12.
          --size WxH        Frame size, e.g. 640x480.
          --min-frames N    Fewest frames that must be present (default 1).
          --allow-black     Also accept black frames (what a VM without camera permission sees). Numbers must
                            then not decrease within each run of test-pattern frames only: a camera that is
                            stopped and started again numbers from 0, and a sidecar fed by the camera service
                            paces the guest on its own clock, so it shows the camera's newest frame again when
                            the camera has not delivered the next one yet (repeats are counted). The report
                            lists each frame's class:
                            "pattern" (exact test-pattern frame), "inexact" (marker and number, other bytes),
                            "black" or "other"; with --json as "classes" and "numbers" (null unless marked).
          --json            Print the report as one JSON object.
          --help            Show this help.

        Exit status:
          0  every frame verified and there are at least N.
          1  a frame did not verify, or fewer than N (the report says which).
          2  bad usage.

        Examples:
          spectrum-camera verify-frames --format YUYV --size 640x480 --min-frames 30 capture.yuyv
          spectrum-camera verify-frames --format NV12 --size 320x240 --allow-black --json capture.nv12
        """;

    public static int Run(string[] args)
    {
        var cl = CommandLine.Parse(args, ["--format", "--size", "--min-frames"], ["--json", "--allow-black"]);
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

        var bytes = File.ReadAllBytes(cl.Positional[0]);
        if (cl.Has("--allow-black"))
        {
            return RunAllowingBlack(cl.Positional[0], format, bytes, minFrames, cl.Has("--json"));
        }

        var report = TestPatternVerifier.VerifyStream(format, bytes);
        var ok = report.IsCleanTestPatternStream && report.Frames >= minFrames;
        if (cl.Has("--json"))
        {
            WriteJson(cl.Positional[0], format, report.Frames, ok, json =>
            {
                json.WriteNumber("verified", report.ExactFrames);
                json.WriteNumber("black", report.BlackFrames);
                json.WriteNumber("trailing_bytes", report.TrailingBytes);
                json.WriteBoolean("strictly_increasing", report.StrictlyIncreasing);
                json.WriteNumber("skipped_numbers", report.SkippedNumbers);
            });
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

    private static void WriteJson(string file, FrameFormat format, int frames, bool ok, Action<Utf8JsonWriter> fields)
    {
        using var json = new Utf8JsonWriter(Console.OpenStandardOutput());
        json.WriteStartObject();
        json.WriteString("file", file);
        json.WriteString("format", format.ToString());
        json.WriteNumber("frames", frames);
        fields(json);
        json.WriteBoolean("ok", ok);
        json.WriteEndObject();
        json.Flush();
        Console.Out.WriteLine();
    }

    /// <summary>What a frame of a capture is, for <c>--allow-black</c>.</summary>
    internal enum FrameClass
    {
        /// <summary>Exactly the test-pattern frame of its number.</summary>
        Pattern,

        /// <summary>Marker and number present, other bytes differ (e.g. a torn copy).</summary>
        Inexact,

        /// <summary>Limited-range black.</summary>
        Black,

        /// <summary>Neither.</summary>
        Other,
    }

    /// <summary>Classifies every whole frame of <paramref name="bytes"/>; numbers are null unless marked.</summary>
    internal static (FrameClass Class, uint? Number)[] Classify(FrameFormat format, ReadOnlySpan<byte> bytes)
    {
        var frameSize = (int)format.SizeImage;
        var result = new (FrameClass, uint?)[bytes.Length / frameSize];
        for (var i = 0; i < result.Length; i++)
        {
            var frame = bytes.Slice(i * frameSize, frameSize);
            if (TestPatternVerifier.TryDecode(format, frame, out var number, out var exact))
            {
                result[i] = (exact ? FrameClass.Pattern : FrameClass.Inexact, number);
            }
            else
            {
                result[i] = (TestPatternVerifier.IsBlack(format, frame) ? FrameClass.Black : FrameClass.Other, null);
            }
        }

        return result;
    }

    private static string Name(FrameClass c) => c switch
    {
        FrameClass.Pattern => "pattern",
        FrameClass.Inexact => "inexact",
        FrameClass.Black => "black",
        _ => "other",
    };

    private static int RunAllowingBlack(string file, FrameFormat format, byte[] bytes, int minFrames, bool asJson)
    {
        var frames = Classify(format, bytes);
        int pattern = 0, inexact = 0, black = 0, other = 0, runs = 0, repeats = 0;
        int? firstOutOfOrder = null;
        uint? previous = null;
        for (var i = 0; i < frames.Length; i++)
        {
            var (c, number) = frames[i];
            switch (c)
            {
                case FrameClass.Pattern:
                    pattern++;
                    break;
                case FrameClass.Inexact:
                    inexact++;
                    break;
                case FrameClass.Black:
                    black++;
                    break;
                default:
                    other++;
                    break;
            }

            if (number is { } n)
            {
                if (previous is null)
                {
                    runs++;
                }
                else if (n == previous)
                {
                    repeats++;
                }
                else if (n < previous)
                {
                    firstOutOfOrder ??= i;
                }

                previous = n;
            }
            else
            {
                previous = null; // a run of marked frames ends here
            }
        }

        var trailing = bytes.Length % (int)format.SizeImage;
        var ok = inexact == 0 && other == 0 && firstOutOfOrder is null && trailing == 0 && frames.Length >= minFrames;
        if (asJson)
        {
            WriteJson(file, format, frames.Length, ok, json =>
            {
                json.WriteNumber("verified", pattern);
                json.WriteNumber("inexact", inexact);
                json.WriteNumber("black", black);
                json.WriteNumber("other", other);
                json.WriteNumber("pattern_runs", runs);
                json.WriteNumber("trailing_bytes", trailing);
                json.WriteNumber("repeated", repeats);
                json.WriteBoolean("in_order_within_runs", firstOutOfOrder is null);
                if (firstOutOfOrder is { } at)
                {
                    json.WriteNumber("first_out_of_order", at);
                }

                json.WriteStartArray("classes");
                foreach (var (c, _) in frames)
                {
                    json.WriteStringValue(Name(c));
                }

                json.WriteEndArray();
                json.WriteStartArray("numbers");
                foreach (var (_, number) in frames)
                {
                    if (number is { } n)
                    {
                        json.WriteNumberValue(n);
                    }
                    else
                    {
                        json.WriteNullValue();
                    }
                }

                json.WriteEndArray();
            });
        }
        else
        {
            Console.Out.WriteLine(
                $"{file}: {frames.Length} frames of {format}: {pattern} exact test-pattern frames in {runs} run(s), " +
                $"{black} black, {inexact} inexact, {other} other, {repeats} repeated, " +
                (firstOutOfOrder is { } at ? $"OUT OF ORDER at frame {at}" : "in order within runs") +
                (trailing > 0 ? $", {trailing} trailing bytes" : "") +
                (ok ? ": OK" : ": FAILED"));
        }

        return ok ? 0 : 1;
    }
}
