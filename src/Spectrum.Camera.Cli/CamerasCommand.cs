using System.Text;
using System.Text.Json;
using Spectrum.Camera.Host;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Cli;

/// <summary>
/// spectrum-camera cameras: the host's V4L2 capture devices, one line each, like a short
/// <c>v4l2-ctl --list-formats-ext</c>: node, stable links, card name, and per format its sizes with their rates.
/// </summary>
internal static class CamerasCommand
{
    private const string Help = """
        Usage: spectrum-camera cameras [--json] [--all] [--dev DIR]

        Lists the host's video capture devices (single-planar V4L2 capture with streaming I/O), one line each:
          /dev/video0 (usb-Logitech_C920-video-index0) "HD Pro Webcam C920": YUYV 640x480@30,15 1280x720@10; MJPG 1920x1080@30
        The names in brackets are the /dev/v4l/by-id and by-path links of the node: use one of them to name a camera,
        since /dev/videoN numbers can change when a camera is re-plugged. Rates are frames per second, fastest first.
        Formats with the same sizes and rates are joined with '/' (YUYV/UYVY ...). Stepwise and continuous sizes show
        their range in square brackets, then the standard sizes inside it.

        Options:
          --json      One JSON object: {"cameras":[...],"skipped":[...]}.
          --all       Also list the video nodes that are not cameras (metadata, output, multi-planar) and why.
          --dev DIR   Scan DIR instead of /dev (for tests).
          --help      Show this help.

        Exit status:
          0  at least one camera is listed.
          1  there is none (the message says what to check: drivers, permissions on /dev/video*, the video group).
          2  bad usage.

        Examples:
          spectrum-camera cameras
          spectrum-camera cameras --all --json
        """;

    public static int Run(string[] args)
    {
        var cl = CommandLine.Parse(args, ["--dev"], ["--json", "--all"]);
        if (cl.HelpRequested)
        {
            Console.Out.WriteLine(Help);
            return 0;
        }

        if (cl.Positional.Count > 0)
        {
            throw new UsageException($"unexpected argument '{cl.Positional[0]}'");
        }

        var dev = cl.Get("--dev") ?? "/dev";
        var scan = CameraEnumerator.Scan(dev);
        if (cl.Has("--json"))
        {
            Console.Out.WriteLine(ToJson(scan));
        }
        else
        {
            foreach (var camera in scan.Cameras)
            {
                Console.Out.WriteLine(SummaryLine(camera));
            }

            if (cl.Has("--all") || scan.Cameras.Count == 0)
            {
                foreach (var skipped in scan.Skipped)
                {
                    Console.Error.WriteLine($"{skipped.Path}: {skipped.Reason}");
                }
            }
        }

        if (scan.Cameras.Count == 0)
        {
            Console.Error.WriteLine($"spectrum-camera: {NoCameraAdvice(scan, dev)}");
            return 1;
        }

        return 0;
    }

    /// <summary>What to do when no camera was found: no nodes at all, no permission, or only non-camera nodes.</summary>
    internal static string NoCameraAdvice(CameraScan scan, string dev)
    {
        if (scan.Skipped.Count == 0)
        {
            return $"no video devices ({dev}/video*) on this host. Plug in a camera and check 'dmesg' for its driver "
                + "(uvcvideo for USB webcams); in a VM or container the camera must be passed through to it.";
        }

        if (scan.PermissionDenied.Any())
        {
            return $"no permission to open {string.Join(", ", scan.PermissionDenied.Select(s => s.Path))}: add this user to "
                + "the group that owns them (usually 'video': sudo usermod -aG video $USER, then log in again), or run as root.";
        }

        return $"none of the {scan.Skipped.Count} video device(s) is a single-planar video capture device with streaming "
            + "I/O (see the reasons above).";
    }

    /// <summary>One device as one line: <c>/dev/video0 (link, link) "Card": YUYV 640x480@30,15; MJPG 1920x1080@30</c>.</summary>
    internal static string SummaryLine(CameraDevice camera)
    {
        var line = new StringBuilder(camera.Path);
        if (camera.Links.Count > 0)
        {
            line.Append(" (").AppendJoin(", ", camera.Links.Select(Path.GetFileName)).Append(')');
        }

        line.Append(" \"").Append(camera.Card).Append("\":");
        if (camera.Formats.Count == 0)
        {
            return line.Append(" no formats").ToString();
        }

        // Formats with the same sizes and rates share one entry ("YUYV/UYVY 640x480@30,15"): drivers such as vivid
        // offer dozens of formats with one list.
        var groups = new List<(List<string> Fourccs, string Sizes)>();
        foreach (var format in camera.Formats)
        {
            var sizes = SizesText(format);
            var fourcc = PixelFormats.ToFourccString(format.PixelFormat).Replace(" ", "", StringComparison.Ordinal);
            if (groups.FindIndex(g => g.Sizes == sizes) is var i and >= 0)
            {
                groups[i].Fourccs.Add(fourcc);
            }
            else
            {
                groups.Add(([fourcc], sizes));
            }
        }

        return line.Append(' ').AppendJoin("; ", groups.Select(g => string.Join('/', g.Fourccs) + g.Sizes)).ToString();
    }

    /// <summary>" [range] 640x480@30,15 1280x720@10": a format's sizes, each with its rates (fastest first).</summary>
    private static string SizesText(CameraFormat format)
    {
        var text = new StringBuilder();
        if (format.SizeRange is { } range)
        {
            text.Append(" [").Append(range).Append(']');
        }

        foreach (var size in format.Sizes)
        {
            text.Append(' ').Append(size.Width).Append('x').Append(size.Height);
            if (size.Intervals.Count > 0)
            {
                text.Append('@').AppendJoin(',', size.Intervals.Select(FrameRates.Describe));
            }
        }

        return text.ToString();
    }

    internal static string ToJson(CameraScan scan)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteStartArray("cameras");
            foreach (var camera in scan.Cameras)
            {
                WriteCamera(json, camera);
            }

            json.WriteEndArray();
            json.WriteStartArray("skipped");
            foreach (var skipped in scan.Skipped)
            {
                json.WriteStartObject();
                json.WriteString("path", skipped.Path);
                json.WriteString("reason", skipped.Reason);
                json.WriteNumber("errno", skipped.Errno);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void WriteCamera(Utf8JsonWriter json, CameraDevice camera)
    {
        json.WriteStartObject();
        json.WriteString("path", camera.Path);
        json.WriteStartArray("links");
        foreach (var link in camera.Links)
        {
            json.WriteStringValue(link);
        }

        json.WriteEndArray();
        json.WriteString("card", camera.Card);
        json.WriteString("driver", camera.Driver);
        json.WriteString("bus_info", camera.BusInfo);
        json.WriteStartArray("formats");
        foreach (var format in camera.Formats)
        {
            json.WriteStartObject();
            json.WriteString("fourcc", PixelFormats.ToFourccString(format.PixelFormat));
            json.WriteString("description", format.Description);
            json.WriteBoolean("compressed", format.IsCompressed);
            json.WriteString("size_kind", format.SizeKind.ToString().ToLowerInvariant());
            if (format.SizeRange is { } r)
            {
                json.WriteStartObject("range");
                json.WriteNumber("min_width", r.MinWidth);
                json.WriteNumber("max_width", r.MaxWidth);
                json.WriteNumber("step_width", r.StepWidth);
                json.WriteNumber("min_height", r.MinHeight);
                json.WriteNumber("max_height", r.MaxHeight);
                json.WriteNumber("step_height", r.StepHeight);
                json.WriteEndObject();
            }

            json.WriteStartArray("sizes");
            foreach (var size in format.Sizes)
            {
                json.WriteStartObject();
                json.WriteNumber("width", size.Width);
                json.WriteNumber("height", size.Height);
                json.WriteStartArray("intervals");
                foreach (var interval in size.Intervals)
                {
                    json.WriteStringValue(interval.ToString());
                }

                json.WriteEndArray();
                json.WriteStartArray("fps");
                foreach (var interval in size.Intervals)
                {
                    json.WriteNumberValue(Math.Round(interval.FramesPerSecond, 3));
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }
}
