using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Media.Transport;

/// <summary>
/// Everything between the virtio-media device and its two virtqueues, in one place. The command queue is drained in
/// batches: each chain's readable part is copied once, handed to the device's <see cref="ICommandHandler"/> with a
/// response to fill, and the response is written to the chain's writable part and completed with exactly its length.
/// Events go through a bounded backlog onto the event queue, whose buffers are taken only when an event is ready (so a
/// VM stop never strands a popped buffer). The driver is interrupted once per batch, as it asked (EVENT_IDX or
/// NO_INTERRUPT). A handler may defer an answer (<see cref="CommandResponse.Defer"/>): its chain stays in flight until
/// <see cref="Finish(CommandTicket, Errno)"/>, across a VM stop/cont, and is forgotten when the device resets.
/// Everything runs on the device loop; nothing here blocks.
/// </summary>
public sealed class VirtqueueTransport
{
    public const int CommandQueue = 0;
    public const int EventQueue = 1;

    /// <summary>Commands handled per loop callback before yielding to timers and other queues.</summary>
    public const int CommandBatch = 64;

    private const string Component = "virtio-media";

    private readonly byte[] _request;
    private readonly CommandResponse _response = new();
    private readonly CommandResponse _lateResponse = new();
    private readonly Dictionary<ulong, DescriptorChain> _deferred = [];
    private readonly List<(DescriptorChain Chain, byte[] Answer)> _finishedWhileStopped = [];
    private readonly GuestRangeWriter _writer = new();
    private readonly EventBacklog _events = new();
    private readonly Action _drainCommands;
    private EventLoop? _loop;
    private ICommandHandler? _handler;
    private IVirtqueue? _commandq;
    private IVirtqueue? _eventq;
    private bool _continuationPosted;
    private ulong _nextTicket = 1;

    /// <param name="maxRequestBytes">The most readable bytes of a command that are copied (the handler's limit).</param>
    public VirtqueueTransport(int maxRequestBytes)
    {
        _request = new byte[maxRequestBytes];
        _drainCommands = DrainCommands;
    }

    /// <summary>True while both queues run: events may be sent and guest memory written.</summary>
    public bool IsRunning => _commandq is not null && _eventq is not null;

    /// <summary>Guest memory as the running queues map it (for frame writes), or null while they are stopped.</summary>
    public GuestMemory? Memory => IsRunning ? _eventq!.Memory : null;

    /// <summary>True when an event sent now is accepted: the queues run and the backlog has room.</summary>
    public bool CanSendEvent => IsRunning && !_events.IsFull;

    /// <summary>Called once before any queue starts: the loop to yield on, and the device's command handler.</summary>
    public void Attach(EventLoop loop, ICommandHandler handler)
    {
        ArgumentNullException.ThrowIfNull(loop);
        ArgumentNullException.ThrowIfNull(handler);
        _loop = loop;
        _handler = handler;
    }

    public void QueueStarted(int index, IVirtqueue queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (index == CommandQueue)
        {
            _commandq = queue;
            CompleteFinishedWhileStopped(queue);
        }
        else
        {
            _eventq = queue;
        }
    }

    /// <summary>After this returns, nothing touches the queue until it is started again.</summary>
    public void QueueStopped(int index)
    {
        if (index == CommandQueue)
        {
            _commandq = null;
        }
        else
        {
            _eventq = null;
        }
    }

    /// <summary>The driver kicked queue <paramref name="index"/> (or it just started and may hold work).</summary>
    public void QueueNotified(int index)
    {
        if (index == CommandQueue)
        {
            DrainCommands();
        }
        else
        {
            FlushEvents();
        }
    }

    /// <summary>
    /// Queues <paramref name="e"/>, an event structure that starts with its header, and writes out as many queued
    /// events as the driver has buffers for. Call only when <see cref="CanSendEvent"/>.
    /// </summary>
    public void SendEvent<T>(in T e)
        where T : unmanaged
    {
        _events.Enqueue(in e);
        FlushEvents();
    }

    /// <summary>
    /// Drops the queued events of <paramref name="sessionId"/> (only those of type <paramref name="eventType"/>, an
    /// EVT_* value, when it is given) and keeps the others in order; returns how many it dropped. A frame whose
    /// EVT_DQBUF has not reached the driver belongs to no stream after STREAMOFF or CLOSE, and delivering it later
    /// would hand the application a buffer it already got back (or one of a closed session); a control event of the
    /// same session outlives STREAMOFF.
    /// </summary>
    public int DiscardEvents(uint sessionId, uint? eventType = null) => _events.Discard(sessionId, eventType);

    /// <summary>Commands whose answers are deferred and not yet finished.</summary>
    public int DeferredCount => _deferred.Count + _finishedWhileStopped.Count;

    /// <summary>A new driver instance: no queued event survives, and deferred commands belong to the old rings.</summary>
    public void Reset()
    {
        _events.Clear();
        _deferred.Clear();
        _finishedWhileStopped.Clear();
    }

    /// <summary>Answers a deferred command with the header alone; a ticket of a command that no longer exists is ignored.</summary>
    public void Finish(CommandTicket ticket, Errno status)
    {
        if (TakeDeferred(ticket, out var chain))
        {
            _lateResponse.Answer(status);
            CompleteLate(chain);
        }
    }

    /// <summary>Answers a deferred command with <paramref name="response"/>, a whole response structure that starts with its header.</summary>
    public void Finish<T>(CommandTicket ticket, in T response)
        where T : unmanaged
    {
        if (TakeDeferred(ticket, out var chain))
        {
            _lateResponse.AnswerWhole(in response);
            CompleteLate(chain);
        }
    }

    private void DrainCommands()
    {
        _continuationPosted = false;
        var q = _commandq;
        if (q is null || _handler is null)
        {
            return;
        }

        var handled = 0;
        do
        {
            while (handled < CommandBatch && q.TryPop(out var chain) == QueuePopResult.Chain)
            {
                if (Answer(q, _handler, chain!) is { } written)
                {
                    q.Complete(chain!, written);
                }

                handled++;
            }

            if (handled == CommandBatch)
            {
                // Yield so that a command flood cannot starve frame timers; continue on the next loop turn.
                if (!_continuationPosted && _loop is not null)
                {
                    _continuationPosted = true;
                    _loop.Post(_drainCommands);
                }

                break;
            }
        }
        while (q.EnableNotification());

        if (handled > 0)
        {
            q.NotifyIfNeeded();
        }
    }

    /// <summary>
    /// Answers one command chain; returns the bytes written to its writable part (its used length), or null when the
    /// handler deferred the answer and the chain stays in flight.
    /// </summary>
    private uint? Answer(IVirtqueue q, ICommandHandler handler, DescriptorChain chain)
    {
        // Copy once, then hand over the copy: the guest may change its memory while the handler parses, and for WR
        // ioctls the response descriptors alias the request ones.
        var memory = q.Memory;
        var copied = chain.CopyReadable(memory, _request);
        var request = new CommandRequest(_request.AsSpan(0, Math.Max(copied, 0)), chain.ReadableLength, chain.WritableLength, memory,
            chain.Segments);
        _response.Begin(chain.WritableLength);
        _response.Ticket = _nextTicket;
        handler.Handle(request, _response);
        if (_response.IsDeferred)
        {
            _deferred.Add(_nextTicket++, chain);
            return null;
        }

        return Write(memory, chain, _response);
    }

    /// <summary>Writes <paramref name="response"/> to the chain's writable part; returns the used length.</summary>
    private uint Write(GuestMemory memory, DescriptorChain chain, CommandResponse response)
    {
        if (response.Length == 0)
        {
            return 0;
        }

        // The used length is what was written, never more than the writable part (virtio 1.x §2.7.8).
        if ((uint)response.Length > chain.WritableLength)
        {
            throw new InvalidOperationException($"an answer of {response.Length} bytes exceeds the writable {chain.WritableLength}");
        }

        chain.OpenWritable(memory, _writer);
        return _writer.Write(response.Bytes) ? (uint)response.Length : 0;
    }

    private bool TakeDeferred(CommandTicket ticket, out DescriptorChain chain)
    {
        if (_deferred.Remove(ticket.Id, out chain!))
        {
            _lateResponse.Begin(chain.WritableLength);
            return true;
        }

        return false;
    }

    /// <summary>Completes a deferred chain now, or keeps its answer until the command queue runs again (VM stopped).</summary>
    private void CompleteLate(DescriptorChain chain)
    {
        var q = _commandq;
        if (q is null)
        {
            _finishedWhileStopped.Add((chain, _lateResponse.Bytes.ToArray()));
            return;
        }

        CompleteAdopted(q, chain, _lateResponse);
        q.NotifyIfNeeded();
    }

    /// <summary>
    /// Completes a chain taken before a VM stop/cont. The restarted ring took over the chains still in flight; one a
    /// front-end restarted with another size did not, and that chain no longer exists for the driver.
    /// </summary>
    private void CompleteAdopted(IVirtqueue q, DescriptorChain chain, CommandResponse response)
    {
        try
        {
            q.Complete(chain, Write(q.Memory, chain, response));
        }
        catch (InvalidOperationException e)
        {
            Log.GuestFault(Component, "deferred-lost", $"a deferred command's chain is gone from the restarted queue ({e.Message}); its answer is dropped");
        }
    }

    /// <summary>The command queue runs again after a VM stop: answers finished meanwhile go out now.</summary>
    private void CompleteFinishedWhileStopped(IVirtqueue q)
    {
        if (_finishedWhileStopped.Count == 0)
        {
            return;
        }

        foreach (var (chain, answer) in _finishedWhileStopped)
        {
            _lateResponse.Begin(chain.WritableLength);
            _lateResponse.AnswerBytes(answer);
            CompleteAdopted(q, chain, _lateResponse);
        }

        _finishedWhileStopped.Clear();
        q.NotifyIfNeeded();
    }

    /// <summary>Writes as many queued events as the driver has buffers for, then interrupts it once.</summary>
    private void FlushEvents()
    {
        var q = _eventq;
        if (q is null || q.IsBroken)
        {
            return;
        }

        var sent = false;
        while (_events.TryPeek(out var e))
        {
            if (q.TryPop(out var chain) != QueuePopResult.Chain)
            {
                // Out of driver buffers with events waiting: ask for a kick when it posts more (EVENT_IDX re-arm);
                // if some arrived meanwhile, keep going.
                if (q.IsBroken || !q.EnableNotification())
                {
                    break;
                }

                continue;
            }

            sent = true;
            if (chain!.WritableLength < e.Length)
            {
                // A buffer too small for the event: hand it back empty and keep the event for the next one.
                Log.GuestFault(Component, "event-buffer-small",
                    $"eventq buffer of {chain.WritableLength} bytes is smaller than a {e.Length}-byte event; returned unused");
                q.Complete(chain, 0);
                continue;
            }

            chain.OpenWritable(q.Memory, _writer);
            var ok = _writer.Write(e);
            q.Complete(chain, ok ? (uint)e.Length : 0);
            if (ok)
            {
                _events.Dequeue();
            }
        }

        if (sent)
        {
            q.NotifyIfNeeded();
        }
    }
}
