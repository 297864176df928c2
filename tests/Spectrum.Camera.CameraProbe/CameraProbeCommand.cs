using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Spectrum.Camera.Host;
using Spectrum.Camera.Cli;
using Spectrum.Camera.Frames;

namespace Spectrum.Camera.CameraProbe;

/// <summary>
/// spectrum-camera-probe (a diagnostic for the host-camera end-to-end test): streams frames from a host camera through
/// <see cref="HostCamera"/>, optionally choosing the mode with <see cref="ModeSelector"/>, optionally living
/// through an unplug and re-open, and reports what happened as one JSON line.
/// </summary>
internal static class CameraProbeCommand
{
    private const string Help = """
        Usage: spectrum-camera-probe --device PATH (--format FOURCC --size WxH | --guest-format FOURCC --guest-size WxH)
                                  [--fps N] [--frames N] [--out FILE] [--unplug] [--wait-device] [--dequeue-only]
                                  [--timeout S] [--json]

        Streams N frames from a host V4L2 camera with MMAP buffers and writes them raw (bytesused bytes each) to FILE.
        A diagnostic for the end-to-end tests; progress goes to stderr, the report to stdout.

        Options:
          --device PATH        The node or a /dev/v4l/by-id|by-path link.
          --format, --size     The host mode to stream (e.g. YUYV 640x360).
          --guest-format, --guest-size
                               Instead: a guest request; the host mode is chosen by the mode selection policy.
          --fps N              Requested frames per second (default 30).
          --frames N           Frames to capture (default 10), and again after a re-open.
          --out FILE           Append every captured frame to FILE.
          --unplug             After N frames, stream on until the camera is unplugged, then re-open it (every 100 ms)
                               and capture N frames more.
          --wait-device        Start even if the device is absent and wait (re-opening every 100 ms) for it to appear.
          --dequeue-only       Do not poll: try DQBUF every 5 ms, as an epoll owner that is woken by EPOLLERR does
                               (so an unplug is seen as DQBUF's ENODEV rather than as POLLERR/POLLHUP).
          --timeout S          Upper bound of each waiting phase (default 60).
          --json               Print the report as one JSON object.
        """;

    public static int Run(string[] args)
    {
        var cl = CommandLine.Parse(args,
            ["--device", "--format", "--size", "--guest-format", "--guest-size", "--fps", "--frames", "--out", "--timeout"],
            ["--unplug", "--wait-device", "--dequeue-only", "--json"]);
        if (cl.HelpRequested)
        {
            Console.Out.WriteLine(Help);
            return 0;
        }

        var options = ProbeOptions.From(cl);
        var report = new ProbeReport { Device = options.Device };
        try
        {
            Probe(options, report);
        }
        catch (Exception e) when (e is HostCameraException or IOException or InvalidOperationException or TimeoutException)
        {
            report.Error = e.Message;
        }

        var ok = report.Error is null;
        Console.Out.WriteLine(cl.Has("--json") ? report.ToJson(ok) : report.ToText(ok));
        return ok ? 0 : 1;
    }

    private static void Probe(ProbeOptions options, ProbeReport report)
    {
        var mode = options.HostMode;
        if (options.GuestRequest is { } request)
        {
            var camera = CameraEnumerator.Describe(options.Device);
            var selection = ModeSelector.Select(camera.Modes, request, options.Rate)
                ?? throw new HostCameraException($"{options.Device} has no mode in a convertible format", 0);
            report.Selection = selection;
            mode = selection.Mode;
            Progress($"selected {selection.Mode} ({selection.Match}) for guest {request}@{FrameRates.Describe(options.Rate)}");
        }

        using var output = options.Out is { } path ? new FileStream(path, FileMode.Append, FileAccess.Write) : null;
        using var host = options.WaitDevice ? HostCamera.OpenOrWait(options.Device, mode) : HostCamera.Open(options.Device, mode);
        if (host.State == HostCameraState.Unplugged)
        {
            Progress($"waiting for the device: {host.UnplugReason}");
            report.WaitAttempts = Reopen(host, options.Timeout);
        }

        report.Negotiated = host.Format;
        report.Buffers = host.BufferCount;
        Progress($"streaming {host.Format} with {host.BufferCount} buffers");
        report.Phases.Add(Capture(host, "stream", options.Frames, options, output));
        if (!options.Unplug)
        {
            return;
        }

        Progress("waiting for an unplug (streaming on)");
        var untilUnplug = Capture(host, "until-unplug", int.MaxValue, options, output: null);
        report.Phases.Add(untilUnplug);
        report.UnplugReason = host.UnplugReason;
        report.UnplugState = host.State.ToString();
        Progress($"unplugged: {host.UnplugReason}");
        report.ReopenAttempts = Reopen(host, options.Timeout);
        report.Reopened = true;
        report.ReopenedNegotiated = host.Format;
        Progress($"reopened after {report.ReopenAttempts} attempt(s): streaming {host.Format}");
        report.Phases.Add(Capture(host, "after-reopen", options.Frames, options, output));
    }

    /// <summary>TryReopen every 100 ms until it works; returns the attempts. Throws TimeoutException after <paramref name="timeout"/>.</summary>
    private static int Reopen(HostCamera host, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        for (var attempt = 1; ; attempt++)
        {
            if (host.TryReopen())
            {
                return attempt;
            }

            if (attempt == 1 || attempt % 10 == 0)
            {
                Progress($"reopen failed (attempt {attempt}): {host.UnplugReason}");
            }

            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"the device did not come back within {timeout.TotalSeconds} s: {host.UnplugReason}");
            }

            Thread.Sleep(100);
        }
    }

    /// <summary>
    /// Captures up to <paramref name="frames"/> frames, or until the camera is unplugged (when frames is int.MaxValue,
    /// that is the goal; otherwise an unplug is an error).
    /// </summary>
    private static PhaseReport Capture(HostCamera host, string name, int frames, ProbeOptions options, FileStream? output)
    {
        var timeout = options.Timeout;
        var phase = new PhaseReport(name);
        var untilUnplug = frames == int.MaxValue;
        var clock = Stopwatch.StartNew();
        while (phase.Frames < frames)
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{name}: {phase.Frames} of {(untilUnplug ? "?" : frames)} frames after {timeout.TotalSeconds} s");
            }

            if (options.DequeueOnly)
            {
                Thread.Sleep(5);
            }

            if (options.DequeueOnly || host.Wait(1000) == HostCameraState.Streaming)
            {
                while (phase.Frames < frames && host.TryDequeue(out var frame))
                {
                    phase.Add(frame.Sequence, frame.BytesUsed, frame.IsCorrupt);
                    output?.Write(frame.Data);
                    host.Release(frame);
                    if (phase.Frames == 1)
                    {
                        phase.AllocatedAtFirstFrame = GC.GetAllocatedBytesForCurrentThread();
                    }
                }
            }

            if (host.State != HostCameraState.Streaming)
            {
                if (untilUnplug)
                {
                    return phase.Finish();
                }

                throw new HostCameraException($"{name}: the camera went away after {phase.Frames} frames: {host.UnplugReason}", 0);
            }
        }

        return phase.Finish();
    }

    private static void Progress(string message) => Console.Error.WriteLine($"probe: {message}");

    private sealed record ProbeOptions(
        string Device, HostMode HostMode, FrameFormat? GuestRequest, FrameRate Rate, int Frames, string? Out, bool Unplug,
        bool WaitDevice, bool DequeueOnly, TimeSpan Timeout)
    {
        public static ProbeOptions From(CommandLine cl)
        {
            if (cl.Positional.Count > 0)
            {
                throw new UsageException($"unexpected argument '{cl.Positional[0]}'");
            }

            var fps = ParseCount(cl.Get("--fps") ?? "30", "--fps");
            var rate = FrameRate.FromFps((uint)fps);
            FrameFormat? guest = null;
            var host = default(HostMode);
            if (cl.Get("--guest-format") is { } guestFourcc)
            {
                var (w, h) = ParseSize(cl.Require("--guest-size"), "--guest-size");
                guest = new FrameFormat(ParseFourcc(guestFourcc, "--guest-format"), w, h);
            }
            else
            {
                var (w, h) = ParseSize(cl.Require("--size"), "--size");
                host = new HostMode(ParseFourcc(cl.Require("--format"), "--format"), w, h, rate);
            }

            return new ProbeOptions(cl.Require("--device"), host, guest, rate, ParseCount(cl.Get("--frames") ?? "10", "--frames"),
                cl.Get("--out"), cl.Has("--unplug"), cl.Has("--wait-device"), cl.Has("--dequeue-only"),
                TimeSpan.FromSeconds(ParseCount(cl.Get("--timeout") ?? "60", "--timeout")));
        }

        private static uint ParseFourcc(string text, string option) =>
            PixelFormats.TryParseFourcc(text.Length == 3 ? text + " " : text, out var fourcc)
                ? fourcc
                : throw new UsageException($"{option} must be a fourcc such as YUYV or MJPG");

        private static (uint Width, uint Height) ParseSize(string text, string option)
        {
            var x = text.IndexOf('x', StringComparison.Ordinal);
            return x > 0
                && uint.TryParse(text.AsSpan(0, x), NumberStyles.None, CultureInfo.InvariantCulture, out var w)
                && uint.TryParse(text.AsSpan(x + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var h)
                && w > 0 && h > 0
                ? (w, h)
                : throw new UsageException($"{option} must look like 640x480");
        }

        private static int ParseCount(string text, string option) =>
            int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
                ? n
                : throw new UsageException($"{option} must be a positive whole number");
    }

    private sealed class PhaseReport(string name)
    {
        public string Name { get; } = name;

        public int Frames { get; private set; }

        public int Corrupt { get; private set; }

        public int MinBytes { get; private set; } = int.MaxValue;

        public int MaxBytes { get; private set; }

        public uint? FirstSequence { get; private set; }

        public uint? LastSequence { get; private set; }

        public bool StrictlyIncreasing { get; private set; } = true;

        /// <summary>GC.GetAllocatedBytesForCurrentThread after the first frame was released.</summary>
        public long AllocatedAtFirstFrame { get; set; } = -1;

        /// <summary>Bytes this thread allocated from the first frame's release to the end of the phase (streaming must allocate none).</summary>
        public long AllocatedAfterFirstFrame { get; private set; } = -1;

        public PhaseReport Finish()
        {
            if (AllocatedAtFirstFrame >= 0)
            {
                AllocatedAfterFirstFrame = GC.GetAllocatedBytesForCurrentThread() - AllocatedAtFirstFrame;
            }

            return this;
        }

        public void Add(uint sequence, int bytes, bool corrupt)
        {
            if (LastSequence is { } last && sequence <= last)
            {
                StrictlyIncreasing = false;
            }

            FirstSequence ??= sequence;
            LastSequence = sequence;
            Frames++;
            Corrupt += corrupt ? 1 : 0;
            MinBytes = Math.Min(MinBytes, bytes);
            MaxBytes = Math.Max(MaxBytes, bytes);
        }
    }

    private sealed class ProbeReport
    {
        public string Device { get; init; } = "";

        public ModeSelection? Selection { get; set; }

        public NegotiatedFormat? Negotiated { get; set; }

        public NegotiatedFormat? ReopenedNegotiated { get; set; }

        public int Buffers { get; set; }

        public List<PhaseReport> Phases { get; } = [];

        public string? UnplugReason { get; set; }

        public string? UnplugState { get; set; }

        public int ReopenAttempts { get; set; }

        public int WaitAttempts { get; set; }

        public bool Reopened { get; set; }

        public string? Error { get; set; }

        public string ToText(bool ok) =>
            $"{Device}: {Negotiated?.ToString() ?? "not streamed"}; "
            + string.Join("; ", Phases.Select(p => $"{p.Name} {p.Frames} frames, sequence {p.FirstSequence}..{p.LastSequence}"
                + (p.StrictlyIncreasing ? "" : " OUT OF ORDER")))
            + (UnplugReason is null ? "" : $"; unplugged ({UnplugReason}), reopened after {ReopenAttempts} attempt(s)")
            + (ok ? ": OK" : $": FAILED: {Error}");

        public string ToJson(bool ok)
        {
            using var stream = new MemoryStream();
            using (var json = new Utf8JsonWriter(stream))
            {
                json.WriteStartObject();
                json.WriteString("device", Device);
                if (Selection is { } s)
                {
                    json.WriteStartObject("selection");
                    json.WriteString("match", s.Match.ToString());
                    WriteMode(json, s.Mode.PixelFormat, s.Mode.Width, s.Mode.Height, s.Mode.Interval);
                    json.WriteEndObject();
                }

                WriteNegotiated(json, "negotiated", Negotiated);
                WriteNegotiated(json, "reopened_negotiated", ReopenedNegotiated);
                json.WriteNumber("buffers", Buffers);
                json.WriteStartArray("phases");
                foreach (var p in Phases)
                {
                    json.WriteStartObject();
                    json.WriteString("name", p.Name);
                    json.WriteNumber("frames", p.Frames);
                    json.WriteNumber("corrupt", p.Corrupt);
                    json.WriteNumber("min_bytes", p.Frames == 0 ? 0 : p.MinBytes);
                    json.WriteNumber("max_bytes", p.MaxBytes);
                    WriteOptional(json, "first_sequence", p.FirstSequence);
                    WriteOptional(json, "last_sequence", p.LastSequence);
                    json.WriteBoolean("strictly_increasing", p.StrictlyIncreasing);
                    json.WriteNumber("allocated_after_first_frame", p.AllocatedAfterFirstFrame);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteString("unplug_state", UnplugState);
                json.WriteString("unplug_reason", UnplugReason);
                json.WriteNumber("reopen_attempts", ReopenAttempts);
                json.WriteNumber("wait_attempts", WaitAttempts);
                json.WriteBoolean("reopened", Reopened);
                json.WriteBoolean("ok", ok);
                json.WriteString("error", Error);
                json.WriteEndObject();
            }

            return Encoding.UTF8.GetString(stream.ToArray());
        }

        private static void WriteOptional(Utf8JsonWriter json, string name, uint? value)
        {
            if (value is { } v)
            {
                json.WriteNumber(name, v);
            }
            else
            {
                json.WriteNull(name);
            }
        }

        private static void WriteNegotiated(Utf8JsonWriter json, string name, NegotiatedFormat? format)
        {
            if (format is null)
            {
                json.WriteNull(name);
                return;
            }

            json.WriteStartObject(name);
            WriteMode(json, format.PixelFormat, format.Width, format.Height, format.Interval);
            json.WriteNumber("bytesperline", format.BytesPerLine);
            json.WriteNumber("sizeimage", format.SizeImage);
            json.WriteEndObject();
        }

        private static void WriteMode(Utf8JsonWriter json, uint fourcc, uint width, uint height, FrameRate interval)
        {
            json.WriteString("fourcc", PixelFormats.ToFourccString(fourcc));
            json.WriteNumber("width", width);
            json.WriteNumber("height", height);
            json.WriteString("interval", interval.ToString());
        }
    }
}
