using Spectrum.Camera.Frames;
using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The capture device's frame engine: each tick of its <see cref="FramePacer"/> (which follows the source's frame
/// arrivals when it announces them, <see cref="IFrameArrivals"/>) renders the frame straight into the oldest queued buffer (its guest pages, or the device-owned memory of an MMAP buffer) and queues an EVT_DQBUF. Frame
/// numbers count every period since STREAMON, so a tick with no queued buffer (or a late tick) shows up as a gap in
/// <c>sequence</c>, as V4L2 drivers do. While the rings are stopped (VM paused) nothing is written; the stream resumes
/// on its own.
/// </summary>
internal sealed class FrameStreamer : IStreamer
{
    private readonly DeviceState _state;
    private readonly IFrameSource _source;
    private readonly VirtqueueTransport _transport;
    private readonly FramePacer _pacer;
    private readonly GuestBufferSink _sink = new();
    private readonly MmapBufferSink _mmapSink = new();

    // The frames whose events may still wait in the transport's backlog, newest last: a STREAMOFF that withdraws n
    // events withdraws the n newest frames (the backlog holds only the streaming owner's events, oldest out first).
    private readonly (FrameContent Content, bool Failed)[] _recent = new (FrameContent, bool)[EventBacklog.Capacity];
    private int _recentNext;

    public FrameStreamer(DeviceState state, IFrameSource source, VirtqueueTransport transport)
    {
        _state = state;
        _source = source;
        _transport = transport;
        _pacer = new FramePacer(state, OnPeriod);
    }

    public FrameCounters Counters { get; } = new();

    public bool IsStreaming => _pacer.IsRunning;

    public void Attach(EventLoop loop) => _pacer.Attach(loop);

    /// <summary>STREAMON: frame numbering restarts at 0.</summary>
    public void Start()
    {
        _pacer.Start();
        _source.StreamStarted(_state.Format, _state.Rate);
        (_source as IFrameArrivals)?.FollowArrivals(_pacer.OnArrival);
    }

    /// <summary>STREAMOFF, owner close or reset: no more frames, and none of the stream's still undelivered.</summary>
    public void Stop()
    {
        if (_pacer.IsRunning)
        {
            (_source as IFrameArrivals)?.FollowArrivals(null);
            _source.StreamStopped();
        }

        _pacer.Stop();
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

    public void Suspend() => _pacer.Suspend();

    public void Resume() => _pacer.Resume();

    public void Dispose() => _pacer.Dispose();

    private void OnPeriod()
    {
        // The first tick is frame 0; a late tick (several expirations) skipped the periods it missed.
        var frame = _pacer.Frame;
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

        buffer.State = QueueBufferState.Dequeued;
        Counters.Count(content, failed);
        _recent[_recentNext] = (content, failed);
        _recentNext = (_recentNext + 1) % _recent.Length;
        _transport.SendEvent(DqbufEvent.Of(_state, buffer, frame, failed ? 0 : format.SizeImage, failed));
    }
}
