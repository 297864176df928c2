using Spectrum.Camera.Frames;
using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Native;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// Paces frames with a timerfd on the device loop at the negotiated interval. Each tick renders the frame straight
/// into the oldest queued buffer (its guest pages, or the device-owned memory of an MMAP buffer) and queues an EVT_DQBUF. Frame numbers count every period since
/// STREAMON, so a tick with no queued buffer (or a late tick) shows up as a gap in <c>sequence</c>, as V4L2 drivers do.
/// While the rings are stopped (VM paused) nothing is written; the stream resumes on its own.
/// </summary>
internal sealed class FrameStreamer : IDisposable
{
    private readonly CaptureState _state;
    private readonly IFrameSource _source;
    private readonly VirtqueueTransport _transport;
    private readonly GuestBufferSink _sink = new();
    private readonly MmapBufferSink _mmapSink = new();

    // The frames whose events may still wait in the transport's backlog, newest last: a STREAMOFF that withdraws n
    // events withdraws the n newest frames (the backlog holds only the streaming owner's events, oldest out first).
    private readonly (FrameContent Content, bool Failed)[] _recent = new (FrameContent, bool)[EventBacklog.Capacity];
    private int _recentNext;
    private TimerFd? _timer;
    private bool _streaming;
    private bool _suspended = true;
    private bool _started;
    private uint _nextFrame;

    public FrameStreamer(CaptureState state, IFrameSource source, VirtqueueTransport transport)
    {
        _state = state;
        _source = source;
        _transport = transport;
        state.RateChanged += Rearm;
    }

    public FrameCounters Counters { get; } = new();

    public bool IsStreaming => _streaming;

    public void Attach(EventLoop loop)
    {
        ArgumentNullException.ThrowIfNull(loop);
        _timer = TimerFd.Create();
        loop.Watch(_timer.Fd, OnTick);
    }

    /// <summary>STREAMON: frame numbering restarts at 0.</summary>
    public void Start()
    {
        _streaming = true;
        _started = false;
        _nextFrame = 0;
        _state.Queue.StartPeriods();
        _source.StreamStarted(_state.Format, _state.Rate);
        Rearm();
    }

    /// <summary>STREAMOFF, owner close or reset: no more frames, and none of the stream's still undelivered.</summary>
    public void Stop()
    {
        if (_streaming)
        {
            _source.StreamStopped();
        }

        _streaming = false;
        Rearm();
        if (_state.Queue.Owner is { } owner)
        {
            for (var n = _transport.DiscardEvents(owner); n > 0; n--)
            {
                _recentNext = (_recentNext + _recent.Length - 1) % _recent.Length;
                var (content, failed) = _recent[_recentNext];
                Counters.Withdraw(content, failed);
            }
        }
    }

    /// <summary>The rings stopped: write nothing to guest memory until <see cref="Resume"/>.</summary>
    public void Suspend()
    {
        _suspended = true;
        Rearm();
    }

    public void Resume()
    {
        _suspended = false;
        Rearm();
    }

    public void Dispose() => _timer?.Dispose();

    private void Rearm()
    {
        if (_timer is null)
        {
            return;
        }

        if (_streaming && !_suspended)
        {
            _timer.SetPeriodic(_state.Rate.PeriodNanoseconds);
        }
        else
        {
            _timer.Disarm();
        }
    }

    private void OnTick()
    {
        var expirations = _timer!.ConsumeExpirations();
        if (expirations == 0 || !_streaming || _suspended)
        {
            return;
        }

        // The first tick is frame 0; a late tick (several expirations) skips the periods it missed.
        var frame = _started ? unchecked(_nextFrame + (uint)expirations - 1) : 0;
        _state.Queue.FramePeriod += _started ? (long)expirations : 1;
        _started = true;
        _nextFrame = unchecked(frame + 1);

        if (!_transport.CanSendEvent || !_state.Queue.TryDequeueForFrame(out var buffer))
        {
            Counters.Dropped++;
            return;
        }

        var format = _state.Format;
        FrameContent content;
        bool failed;
        if (buffer.Owned is { } owned)
        {
            _mmapSink.Open(owned);
            content = _source.Render(format, frame, _mmapSink);
            failed = _mmapSink.Faulted || _mmapSink.Written != format.SizeImage;
        }
        else
        {
            _sink.Open(_transport.Memory!, buffer);
            content = _source.Render(format, frame, _sink);
            failed = _sink.Faulted || _sink.Written != format.SizeImage;
        }

        buffer.State = CaptureBufferState.Dequeued;
        Counters.Count(content, failed);
        _recent[_recentNext] = (content, failed);
        _recentNext = (_recentNext + 1) % _recent.Length;
        SendDqbufEvent(buffer, frame, format.SizeImage, failed);
    }

    /// <summary>
    /// EVT_DQBUF for <paramref name="buffer"/>: the buffer's v4l2_buffer as DQBUF returns it (m.userptr echoed for USERPTR,
    /// m.offset and MAPPED for MMAP), zero planes.
    /// </summary>
    private void SendDqbufEvent(CaptureBuffer buffer, uint sequence, uint bytesUsed, bool failed)
    {
        var now = MonotonicClock.NowNanoseconds();
        var mapped = buffer.Owned is { WindowMappings: > 0 } ? V4l2.BufFlagMapped : 0;
        var e = new VirtioMediaDqbufEvent
        {
            Header = new VirtioMediaEventHeader { Event = VirtioMediaWire.EventDqbuf, SessionId = _state.Queue.Owner ?? 0 },
            Buffer = new V4l2Buffer
            {
                Index = buffer.Index,
                Type = V4l2.BufTypeVideoCapture,
                BytesUsed = failed ? 0 : bytesUsed,
                Flags = V4l2.BufFlagTimestampMonotonic | V4l2.BufFlagTstampSrcEof | mapped | (failed ? V4l2.BufFlagError : 0),
                Field = V4l2.FieldNone,
                TimestampSeconds = now / 1_000_000_000,
                TimestampMicroseconds = now % 1_000_000_000 / 1000,
                Sequence = sequence,
                Memory = buffer.Owned is null ? V4l2.MemoryUserPtr : V4l2.MemoryMmap,
                UserPtr = buffer.Owned is null ? buffer.UserPtr : buffer.MemOffset,
                Length = buffer.Length,
            },
        };
        _transport.SendEvent(in e);
    }
}
