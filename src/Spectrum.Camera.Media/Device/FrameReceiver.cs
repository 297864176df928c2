using Spectrum.Camera.Frames;
using Spectrum.Camera.Media.Transport;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The output device's frame engine: each tick of its <see cref="FramePacer"/> takes at most one queued buffer, copies
/// its frame once from the guest pages into the destination's frame memory (<see cref="IFrameDestination.TryBeginFrame"/>,
/// then <see cref="IFrameDestination.CommitFrame"/> only once the whole frame was read, so a partial frame is never
/// published) and returns the buffer with its EVT_DQBUF. A camera VM that queues faster than the stream's rate is paced
/// by those returns; one that stops taking events keeps its buffers until it does. Nothing here grows: the queue holds
/// at most <see cref="BufferQueue.MaxBuffers"/> buffers and the event backlog is bounded.
/// </summary>
internal sealed class FrameReceiver : IStreamer
{
    private readonly DeviceState _state;
    private readonly IFrameDestination _destination;
    private readonly VirtqueueTransport _transport;
    private readonly FramePacer _pacer;
    private uint _sequence;

    public FrameReceiver(DeviceState state, IFrameDestination destination, VirtqueueTransport transport)
    {
        _state = state;
        _destination = destination;
        _transport = transport;
        _pacer = new FramePacer(state, OnPeriod);
    }

    public OutputCounters Counters { get; } = new();

    public bool IsStreaming => _pacer.IsRunning;

    public void Attach(EventLoop loop) => _pacer.Attach(loop);

    /// <summary>STREAMON: the destination learns the stream's format; buffer returns are numbered from 0.</summary>
    public void Start()
    {
        _sequence = 0;
        _pacer.Start();
        _destination.StreamStarted(_state.Format, _state.Rate);
    }

    /// <summary>
    /// STREAMOFF, owner close or reset: no more frames, and the returns whose EVT_DQBUF the driver has not taken are
    /// withdrawn (the buffers come back with STREAMOFF itself). The session's control events stay.
    /// </summary>
    public void Stop()
    {
        if (_pacer.IsRunning)
        {
            _destination.StreamStopped();
        }

        _pacer.Stop();
        if (_state.Queue.Owner is { } owner)
        {
            _ = _transport.DiscardEvents(owner, VirtioMediaWire.EventDqbuf);
        }
    }

    public void Suspend() => _pacer.Suspend();

    public void Resume() => _pacer.Resume();

    public void Dispose() => _pacer.Dispose();

    private void OnPeriod()
    {
        // A late tick still takes one buffer: the stream's rate is the most that is passed on.
        Counters.Periods = (ulong)_state.Queue.FramePeriod;
        if (!_transport.CanSendEvent)
        {
            if (_state.Queue.QueuedCount > 0)
            {
                Counters.HeldPeriods++;
            }

            return;
        }

        if (!_state.Queue.TryDequeueForFrame(out var buffer))
        {
            return;
        }

        var failed = !PassOn(buffer);
        buffer.State = QueueBufferState.Dequeued;
        _transport.SendEvent(DqbufEvent.Of(_state, buffer, _sequence++, _state.Format.SizeImage, failed));
    }

    /// <summary>Copies the buffer's frame into the destination; false when the guest pages could not be read whole.</summary>
    private bool PassOn(QueueBuffer buffer)
    {
        var format = _state.Format;
        if (!_destination.TryBeginFrame(format, out var frame))
        {
            Counters.Dropped++;
            return true;
        }

        if (frame.Length != format.SizeImage ||
            _transport.Memory!.Gather(buffer.Ranges.AsSpan(0, buffer.RangeCount), frame) != frame.Length)
        {
            _destination.AbortFrame();
            Counters.Failed++;
            return false;
        }

        _destination.CommitFrame(_sequence);
        Counters.Forwarded++;
        return true;
    }
}
