using System.Globalization;

namespace Spectrum.Camera.FrontendTool;

/// <summary>One requested stream: a guest format, size and rate.</summary>
internal readonly record struct StreamSpec(uint PixelFormat, uint Width, uint Height, uint Fps)
{
    /// <summary>FOURCC:WxH[@FPS], e.g. NV12:320x240@15 (default rate 30).</summary>
    public static StreamSpec Parse(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon != 4)
        {
            throw new FormatException($"--stream wants FOURCC:WxH[@FPS], not '{text}'");
        }

        var rest = text[5..];
        uint fps = 30;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            fps = ParseUInt(rest[(at + 1)..], "fps");
            rest = rest[..at];
        }

        var x = rest.IndexOf('x', StringComparison.Ordinal);
        if (x <= 0)
        {
            throw new FormatException($"--stream wants FOURCC:WxH[@FPS], not '{text}'");
        }

        return new StreamSpec(Fourcc.Parse(text[..4]), ParseUInt(rest[..x], "width"), ParseUInt(rest[(x + 1)..], "height"), fps);
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Fourcc.Text(PixelFormat)}:{Width}x{Height}@{Fps}");

    public static uint ParseUInt(string text, string what) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v : throw new FormatException($"{what} must be a positive integer, not '{text}'");
}

/// <summary>The command line.</summary>
internal sealed class Options
{
    public const string Help = """
        Usage: spectrum-camera-frontend --socket PATH [options]

        Plays the VMM (memfd guest RAM, vhost-user messages, virtqueues) and the guest's virtio-media driver against a
        sidecar ('spectrum-camera serve --socket-path PATH ...'), captures with USERPTR buffers of scattered guest
        pages, and prints one JSON line per event on stdout:
          {"event":"start",...}    a stream began (format, size, rate, sizeimage, buffers, session)
          {"event":"frame",...}    a dequeued frame: n, index, sequence, bytesused, timestamp_ns, t_ms (arrival,
                                   ms since the tool started), class (black | test-pattern | image), luma (mean),
                                   hash (FNV-1a of a byte sample), error (V4L2_BUF_FLAG_ERROR)
          {"event":"mark",...}     a 'mark LABEL' line read from the control FIFO, with the frames seen so far
          {"event":"summary",...}  per stream: counts per class, sequence gaps, arrival gaps, distinct hashes
          {"event":"done",...}     last line: ok, error
        Each dequeued buffer is queued again at once.

        Options:
          --socket PATH          The sidecar's vhost-user socket (waited for up to --connect-timeout).
          --stream FOURCC:WxH[@FPS]
                                 A stream to run (repeatable, run one after another, each on its own session).
                                 Default YUYV:640x480@30. FOURCC is YUYV, NV12 or YU12.
          --frames N             Frames per stream (default 30).
          --duration SECONDS     Stream for this long instead of a frame count.
          --until CLASS:N        End a stream early once N frames in a row were of CLASS (black, test-pattern or
                                 image); --frames/--duration stay the limit (summary until_met says which ended it).
          --control-fifo PATH    Read commands from PATH (a FIFO): 'mark LABEL' records a mark, 'stop' ends the
                                 current stream, end of file ends every stream. Streams then run until told to
                                 stop (or --frames/--duration if given explicitly).
          --buffers N            USERPTR buffers to request (default 4).
          --frame-timeout SECONDS
                                 A stream that delivers no frame for this long is an error (default 10).
          --connect-timeout SECONDS
                                 How long to wait for the socket (default 10).
          --max-seconds SECONDS  Give up after this long in all (default 900).
          --quiet                No frame lines (start, mark, summary and done only).
          --help                 Show this help.

        Exit status: 0 when every stream ran, 1 on a protocol error, a refused ioctl, a stalled stream or a timeout,
        2 on bad usage.
        """;

    public string Socket { get; private set; } = "";

    public List<StreamSpec> Streams { get; } = [];

    public int? Frames { get; private set; }

    public double? DurationSeconds { get; private set; }

    public string? UntilClass { get; private set; }

    public long UntilCount { get; private set; }

    public string? ControlFifo { get; private set; }

    public uint Buffers { get; private set; } = 4;

    public double FrameTimeoutSeconds { get; private set; } = 10;

    public double ConnectTimeoutSeconds { get; private set; } = 10;

    public double MaxSeconds { get; private set; } = 900;

    public bool Quiet { get; private set; }

    public bool HelpRequested { get; private set; }

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{a} needs a value");
            switch (a)
            {
                case "--help" or "-h": o.HelpRequested = true; break;
                case "--socket": o.Socket = Value(); break;
                case "--stream": o.Streams.Add(StreamSpec.Parse(Value())); break;
                case "--frames": o.Frames = (int)StreamSpec.ParseUInt(Value(), "--frames"); break;
                case "--duration": o.DurationSeconds = Seconds(Value(), a); break;
                case "--until": o.ParseUntil(Value()); break;
                case "--control-fifo": o.ControlFifo = Value(); break;
                case "--buffers": o.Buffers = StreamSpec.ParseUInt(Value(), "--buffers"); break;
                case "--frame-timeout": o.FrameTimeoutSeconds = Seconds(Value(), a); break;
                case "--connect-timeout": o.ConnectTimeoutSeconds = Seconds(Value(), a); break;
                case "--max-seconds": o.MaxSeconds = Seconds(Value(), a); break;
                case "--quiet": o.Quiet = true; break;
                default: throw new FormatException($"unknown argument '{a}' (see --help)");
            }
        }

        if (o.HelpRequested)
        {
            return o;
        }

        if (o.Socket.Length == 0)
        {
            throw new FormatException("--socket PATH is required");
        }

        if (o.Streams.Count == 0)
        {
            o.Streams.Add(new StreamSpec(Fourcc.Parse("YUYV"), 640, 480, 30));
        }

        if (o.Frames is not null && o.DurationSeconds is not null)
        {
            throw new FormatException("give --frames or --duration, not both");
        }

        if (o.ControlFifo is null && o.Frames is null && o.DurationSeconds is null)
        {
            o.Frames = 30;
        }

        return o;
    }

    private void ParseUntil(string text)
    {
        var colon = text.LastIndexOf(':');
        var cls = colon > 0 ? text[..colon] : "";
        if (cls is not (FrameClass.Black or FrameClass.TestPattern or FrameClass.Image))
        {
            throw new FormatException($"--until wants CLASS:N with CLASS black, test-pattern or image, not '{text}'");
        }

        UntilClass = cls;
        UntilCount = StreamSpec.ParseUInt(text[(colon + 1)..], "--until count");
    }

    private static double Seconds(string text, string what) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v : throw new FormatException($"{what} must be a positive number of seconds, not '{text}'");
}
