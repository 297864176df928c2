using System.Collections.Concurrent;
using System.Diagnostics;
using Spectrum.Camera.Frames;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.FrontendTool;

/// <summary>A refused command, a malformed answer, a stall: ends the run with exit status 1.</summary>
internal sealed class FrontendException(string message) : Exception(message);

/// <summary>
/// The VMM and guest driver of one run: connects to the sidecar, starts the driver (QEMU's message sequences, 16 eventq
/// buffers) and runs each requested stream on its own session as a USERPTR application would.
/// </summary>
internal sealed class Frontend : IDisposable
{
    private static readonly ushort[] QueueSizes = [256, 256];
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(10);

    private readonly Options _options;
    private readonly TextWriter _out;
    private readonly Stopwatch _clock;
    private readonly ConcurrentQueue<string> _commands = new();
    private readonly TestVmm _vmm;
    private readonly MediaGuestDriver _driver;
    private bool _controlEnded;

    public Frontend(Options options, TextWriter output, Stopwatch clock)
    {
        _options = options;
        _out = output;
        _clock = clock;
        var largest = options.Streams.Max(s => new FrameFormat(s.PixelFormat, s.Width, s.Height).SizeImage);
        // Scattered buffers use every other page: twice the frame per buffer, plus rings and command areas.
        var ram = (ulong)(2 * (largest + 8192)) * options.Buffers + (32UL << 20);
        _vmm = new TestVmm(ConnectPath(options.Socket, options.ConnectTimeoutSeconds), QueueSizes, ram);
        _vmm.Client.ReplyTimeout = CommandTimeout;
        _vmm.Initialize();
        _driver = new MediaGuestDriver(_vmm) { Timeout = CommandTimeout };
        _vmm.StartDriver(newRings: true, beforeEnable: _ => _driver.PostEventBuffers());
        if (options.ControlFifo is { } fifo)
        {
            var reader = new Thread(() => ReadControl(fifo)) { IsBackground = true, Name = "control-fifo" };
            reader.Start();
        }
    }

    /// <summary>Runs the stream; false if the control FIFO ended every stream.</summary>
    public bool Run(int streamIndex, StreamSpec spec)
    {
        var session = OpenSession();
        var answer = MediaRequests.Read<V4l2Format>(IoctlOk(session, V4l2IoctlNumber.SFmt,
            MediaRequests.Format(spec.Width, spec.Height, spec.PixelFormat), MediaRequests.SizeOf<V4l2Format>(), "S_FMT")).Pix;
        var (width, height, fourcc, sizeImage) = (answer.Width, answer.Height, answer.PixelFormat, answer.SizeImage);
        if (width != spec.Width || height != spec.Height || fourcc != spec.PixelFormat)
        {
            throw new FrontendException($"S_FMT {spec} answered {Fourcc.Text(fourcc)} {width}x{height}: not on the sidecar's menu");
        }

        var format = new FrameFormat(fourcc, width, height);
        var interval = MediaRequests.Read<V4l2StreamParm>(IoctlOk(session, V4l2IoctlNumber.SParm, MediaRequests.StreamParm(1, spec.Fps),
            MediaRequests.SizeOf<V4l2StreamParm>(), "S_PARM")).Capture.TimePerFrame;
        var (num, den) = (interval.Numerator, interval.Denominator);
        var granted = MediaRequests.Read<V4l2RequestBuffers>(IoctlOk(session, V4l2IoctlNumber.ReqBufs,
            MediaRequests.RequestBuffers(_options.Buffers), MediaRequests.SizeOf<V4l2RequestBuffers>(), "REQBUFS")).Count;
        if (granted == 0)
        {
            throw new FrontendException("REQBUFS granted no buffers");
        }

        var buffers = new GuestFrameBuffer[granted];
        for (var i = 0; i < buffers.Length; i++)
        {
            buffers[i] = new GuestFrameBuffer(_vmm.Ram, sizeImage);
            Queue(session, buffers, i);
        }

        Check(Ioctl(session, V4l2IoctlNumber.StreamOn, MediaRequests.Word(V4l2.BufTypeVideoCapture), 0).Status, "STREAMON");
        Emit(new JsonLine("start").Add("stream", streamIndex).Add("format", Fourcc.Text(fourcc)).Add("width", width)
            .Add("height", height).Add("interval", $"{num}/{den}").Add("sizeimage", sizeImage).Add("buffers", granted)
            .Add("session", session).Add("t_ms", Now()));

        var stats = new StreamStats(streamIndex, spec, sizeImage);
        var keepGoing = true;
        var started = _clock.Elapsed;
        var lastFrameAt = started;
        var explicitLimit = _options.ControlFifo is null || _options.Frames is not null || _options.DurationSeconds is not null;
        string? failure = null;
        try
        {
            while (true)
            {
                if (explicitLimit && ((_options.Frames is { } n && stats.Frames >= n)
                                      || (_options.DurationSeconds is { } d && (_clock.Elapsed - started).TotalSeconds >= d)))
                {
                    break;
                }

                if (_options.UntilClass is { } until && stats.Run(until) >= _options.UntilCount)
                {
                    stats.UntilMet = true;
                    break;
                }

                if (_options.ControlFifo is not null && DrainCommands(stats) is { } stop)
                {
                    keepGoing = stop;
                    break;
                }

                if (_clock.Elapsed.TotalSeconds > _options.MaxSeconds)
                {
                    throw new FrontendException($"gave up after --max-seconds {_options.MaxSeconds}");
                }

                ArmInterrupts();
                var e = _driver.WaitEvent(TimeSpan.FromMilliseconds(100));
                if (e is null)
                {
                    var silent = _clock.Elapsed - lastFrameAt;
                    if (silent.TotalSeconds > _options.FrameTimeoutSeconds)
                    {
                        throw new FrontendException($"stalled: no frame for {silent.TotalSeconds:0.0} s (--frame-timeout)");
                    }

                    continue;
                }

                var header = WireStruct.TryRead(e, out VirtioMediaEventHeader h) ? h : new VirtioMediaEventHeader { Event = uint.MaxValue };
                switch (header.Event)
                {
                    case VirtioMediaWire.EventDqbuf when header.SessionId != session:
                        // Completed for an earlier session before its STREAMOFF/CLOSE and not taken then: the Linux
                        // driver drops such events for a closed file, and so do we.
                        stats.StaleEvents++;
                        break;
                    case VirtioMediaWire.EventDqbuf:
                        lastFrameAt = _clock.Elapsed;
                        OnFrame(e, session, format, buffers, stats);
                        break;
                    case VirtioMediaWire.EventError:
                        var errno = WireStruct.TryRead(e, out VirtioMediaErrorEvent error) ? error.Errno.ToString(System.Globalization.CultureInfo.InvariantCulture) : "missing";
                        throw new FrontendException($"EVT_ERROR from the device: errno {errno} (session {header.SessionId})");
                    default:
                        Emit(new JsonLine("v4l2-event").Add("stream", streamIndex).Add("type", header.Event).Add("t_ms", Now()));
                        break;
                }
            }
        }
        catch (FrontendException ex)
        {
            failure = ex.Message;
            throw;
        }
        finally
        {
            Emit(stats.Summary(Now(), failure));
        }

        Check(Ioctl(session, V4l2IoctlNumber.StreamOff, MediaRequests.Word(V4l2.BufTypeVideoCapture), 0).Status, "STREAMOFF");
        IoctlOk(session, V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(0), MediaRequests.SizeOf<V4l2RequestBuffers>(), "REQBUFS 0");
        ArmInterrupts();
        _driver.Close(session);
        return keepGoing;
    }

    public void Dispose() => _vmm.Dispose();

    private void OnFrame(byte[] e, uint session, FrameFormat format, GuestFrameBuffer[] buffers, StreamStats stats)
    {
        if (e.Length != MediaRequests.SizeOf<VirtioMediaDqbufEvent>() || MediaRequests.Read<VirtioMediaDqbufEvent>(e).Header.SessionId != session)
        {
            throw new FrontendException($"EVT_DQBUF of {e.Length} bytes for another session (ours: {session})");
        }

        var buffer = MediaRequests.Read<VirtioMediaDqbufEvent>(e).Buffer;
        var index = (int)buffer.Index;
        if (index >= buffers.Length)
        {
            throw new FrontendException($"EVT_DQBUF for buffer {index}, only {buffers.Length} exist");
        }

        var (bytesUsed, flags, sequence) = (buffer.BytesUsed, buffer.Flags, buffer.Sequence);
        var timestampNs = (buffer.TimestampSeconds * 1_000_000_000) + (buffer.TimestampMicroseconds * 1000);
        var frame = buffers[index].Read((int)Math.Min(bytesUsed, buffers[index].Length));
        var cls = FrameClass.Classify(format, frame, out var luma, out var hash);
        var now = Now();
        stats.Add(sequence, bytesUsed, (flags & V4l2.BufFlagError) != 0, cls, hash, now);
        if (!_options.Quiet)
        {
            Emit(new JsonLine("frame").Add("stream", stats.Stream).Add("n", stats.Frames - 1).Add("index", index)
                .Add("sequence", sequence).Add("bytesused", bytesUsed).Add("timestamp_ns", timestampNs).Add("t_ms", now)
                .Add("class", cls).Add("luma", luma).Add("hash", hash.ToString("x16", System.Globalization.CultureInfo.InvariantCulture))
                .Add("error", (flags & V4l2.BufFlagError) != 0));
        }

        Queue(session, buffers, index);
    }

    /// <summary>Handles queued control lines; null to go on, true to end this stream, false to end every stream.</summary>
    private bool? DrainCommands(StreamStats stats)
    {
        if (_controlEnded)
        {
            return false;
        }

        while (_commands.TryDequeue(out var line))
        {
            if (line.StartsWith("mark ", StringComparison.Ordinal))
            {
                Emit(new JsonLine("mark").Add("stream", stats.Stream).Add("label", line[5..].Trim()).Add("frames", stats.Frames)
                    .Add("last_sequence", stats.LastSequence is { } s ? s : -1).Add("t_ms", Now()));
            }
            else if (line.Trim() == "stop")
            {
                return true;
            }
            else if (line == "\0eof")
            {
                _controlEnded = true;
                return false;
            }
            else if (line.Trim().Length > 0)
            {
                Emit(new JsonLine("warning").Add("message", $"unknown control line '{line}'").Add("t_ms", Now()));
            }
        }

        return null;
    }

    private void ReadControl(string path)
    {
        try
        {
            using var reader = new StreamReader(path);
            while (reader.ReadLine() is { } line)
            {
                _commands.Enqueue(line);
            }
        }
        catch (IOException e)
        {
            _commands.Enqueue($"mark control-fifo-error {e.Message}");
        }
        catch (UnauthorizedAccessException e)
        {
            _commands.Enqueue($"mark control-fifo-error {e.Message}");
        }

        _commands.Enqueue("\0eof");
    }

    private void Queue(uint session, GuestFrameBuffer[] buffers, int index)
    {
        var b = buffers[index];
        Check(Ioctl(session, V4l2IoctlNumber.QBuf, MediaRequests.Buffer((uint)index, MediaRequests.UserPtrOf(index), b.Length),
            MediaRequests.SizeOf<V4l2Buffer>(), b.SgList()).Status,
            $"QBUF {index}");
    }

    private uint OpenSession()
    {
        ArmInterrupts();
        var (status, session) = _driver.Open();
        return status == 0 ? session : throw new FrontendException($"OPEN failed with errno {status}");
    }

    private (uint Status, byte[] Payload) Ioctl(uint session, V4l2IoctlNumber code, ReadOnlySpan<byte> payload, int responsePayload, ReadOnlySpan<byte> extra = default)
    {
        ArmInterrupts();
        try
        {
            return _driver.Ioctl(session, code, payload, responsePayload, extra);
        }
        catch (TimeoutException)
        {
            throw new FrontendException($"{code.Name()}: no answer from the sidecar in {CommandTimeout.TotalSeconds} s");
        }
        catch (InvalidDataException e)
        {
            throw new FrontendException($"{code.Name()}: {e.Message}");
        }
    }

    private byte[] IoctlOk(uint session, V4l2IoctlNumber code, ReadOnlySpan<byte> payload, int responsePayload, string what)
    {
        var (status, answer) = Ioctl(session, code, payload, responsePayload);
        Check(status, what);
        return answer;
    }

    private static void Check(uint status, string what)
    {
        if (status != 0)
        {
            throw new FrontendException($"{what} failed with errno {status}");
        }
    }

    // The Linux driver re-enables callbacks before it sleeps; with EVENT_IDX only the first completion would interrupt
    // a driver that does not (see MediaHarness).
    private void ArmInterrupts()
    {
        _driver.CommandQueue.SetUsedEvent(_driver.CommandQueue.UsedIndex);
        _driver.EventQueue.SetUsedEvent(_driver.EventQueue.UsedIndex);
    }

    private long Now() => (long)_clock.Elapsed.TotalMilliseconds;

    private void Emit(JsonLine line)
    {
        _out.WriteLine(line.ToString());
        _out.Flush();
    }

    private static string ConnectPath(string path, double timeoutSeconds)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!File.Exists(path))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new FrontendException($"no socket at {path} after {timeoutSeconds} s (is the sidecar running?)");
            }

            Thread.Sleep(50);
        }

        return path;
    }
}
