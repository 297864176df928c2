using System.Buffers.Binary;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.VhostUser;

/// <summary>
/// The backend channel (vhost-user spec, SET_BACKEND_REQ_FD): a second socket on which the backend sends requests
/// and the front-end answers them. Here it carries SHMEM_MAP and SHMEM_UNMAP, always with NEED_REPLY (REPLY_ACK is
/// negotiated before a channel is used), and is the <see cref="ISharedMemoryMapper"/> a device with region 0 gets.
/// </summary>
/// <remarks>
/// Nothing here blocks the device loop: a request is written with one non-blocking send, and the acks are read when
/// the socket is readable, in request order (QEMU answers its backend channel in order from its main loop:
/// backend_read in hw/virtio/vhost-user.c, qemu/qemu 1276e6c8). At most <see cref="MaxPending"/> requests wait for an
/// ack. A front-end that breaks the channel, answers out of protocol (wrong request, flags, size, an fd, an ack nobody
/// asked for) or leaves the oldest request unanswered for <see cref="AckTimeoutNanoseconds"/> loses the channel: it is closed,
/// every waiting request ends with <see cref="MappingOutcome.ChannelLost"/>, and later requests are refused at once.
/// QEMU blocks its main loop while it waits for some of our replies on the main socket, so an ack may lag; the timeout
/// is far above any such wait.
/// </remarks>
public sealed class BackendChannel : ISharedMemoryMapper, IDisposable
{
    /// <summary>Requests waiting for an ack at once; a device serialises its own (the Linux driver sends one command at a time).</summary>
    public const int MaxPending = 64;

    /// <summary>How long the oldest request may wait for its ack before the channel is given up: 2 s.</summary>
    public const long AckTimeoutNanoseconds = 2_000_000_000;

    /// <summary>struct VhostUserMMap: u8 shmid, u8 padding[7], u64 fd_offset, u64 shm_offset, u64 len, u64 flags.</summary>
    public const int MmapPayloadSize = 40;

    /// <summary>VHOST_USER_FLAG_MAP_RW, bit 0 of VhostUserMMap.flags: the mapping is writable.</summary>
    public const ulong MapWritable = 1;

    private const string Component = "vhost-user";
    private const int AckSize = VhostUserMessage.HeaderSize + 8;

    private readonly EventLoop _loop;
    private readonly UnixSocket _socket;
    private readonly Queue<Pending> _pending = new(MaxPending);
    private readonly byte[] _ack = new byte[AckSize];
    private readonly List<FdHandle> _receivedFds = [];
    private readonly Func<long> _clock;
    private LoopTimer? _timer;
    private int _ackFilled;
    private bool _lost;
    private bool _sendFailed;

    /// <param name="socket">The front-end's end of its socketpair; owned from here on.</param>
    /// <param name="regionSize">Bytes of region 0 (the size GET_SHMEM_CONFIG reports).</param>
    /// <param name="clock">Monotonic nanoseconds; tests pass their own to reach the timeout without waiting.</param>
    public BackendChannel(EventLoop loop, UnixSocket socket, ulong regionSize, Func<long>? clock = null)
    {
        ArgumentNullException.ThrowIfNull(loop);
        ArgumentNullException.ThrowIfNull(socket);
        _loop = loop;
        _socket = socket;
        RegionSize = regionSize;
        _clock = clock ?? MonotonicClock.NowNanoseconds;
        _loop.Watch(_socket.Fd, OnReadable);
    }

    public ulong RegionSize { get; }

    public bool IsUsable => !_lost && !_sendFailed;

    /// <summary>Requests sent and not yet acknowledged.</summary>
    public int PendingCount => _pending.Count;

    /// <summary>Why the channel was given up, once it was.</summary>
    public string? LostReason { get; private set; }

    /// <summary>Raised on the loop once, when the channel is given up (not on <see cref="Dispose"/>).</summary>
    public event Action<string>? Lost;

    public void Map(FdHandle fd, ulong regionOffset, ulong length, bool writable, Action<MappingOutcome> done)
    {
        ArgumentNullException.ThrowIfNull(fd);
        Send(BackendRequest.ShmemMap, regionOffset, length, writable ? MapWritable : 0, fd, done);
    }

    public void Unmap(ulong regionOffset, ulong length, Action<MappingOutcome> done) =>
        Send(BackendRequest.ShmemUnmap, regionOffset, length, 0, null, done);

    /// <summary>Checks the oldest request's age now (the timer does this on its own; tests call it after moving their clock).</summary>
    public void CheckTimeout()
    {
        if (!_lost && _pending.TryPeek(out var oldest) && _clock() - oldest.SentAt > AckTimeoutNanoseconds)
        {
            Lose($"the front-end did not answer {oldest.Request} within {AckTimeoutNanoseconds / 1_000_000_000} s");
        }
    }

    /// <summary>Gives the channel up (the front-end replaced it): waiting requests end with ChannelLost.</summary>
    public void Abandon(string reason) => Lose(reason);

    /// <summary>
    /// Closes the channel with its connection. Waiting requests are dropped without a callback: the device is told
    /// the window is gone (<see cref="IVirtioDevice.SharedMemoryChanged"/>) and forgets them itself. Idempotent.
    /// </summary>
    public void Dispose()
    {
        if (!_lost)
        {
            Close("the connection ended", notify: false);
        }
    }

    private void Send(BackendRequest request, ulong regionOffset, ulong length, ulong flags, FdHandle? fd, Action<MappingOutcome> done)
    {
        ArgumentNullException.ThrowIfNull(done);
        if (!IsUsable || _pending.Count == MaxPending)
        {
            // Never block and never queue without bound: the caller learns on the next loop turn.
            _loop.Post(() => done(MappingOutcome.NotSent));
            return;
        }

        Span<byte> message = stackalloc byte[VhostUserMessage.HeaderSize + MmapPayloadSize];
        message.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(message, (uint)request);
        BinaryPrimitives.WriteUInt32LittleEndian(message[4..], VhostUserMessage.Version | VhostUserMessage.FlagNeedReply);
        BinaryPrimitives.WriteUInt32LittleEndian(message[8..], MmapPayloadSize);
        var payload = message[VhostUserMessage.HeaderSize..];

        // shmid 0 and its padding stay zero: virtio-media uses region 0 only.
        BinaryPrimitives.WriteUInt64LittleEndian(payload[8..], 0); // fd_offset: every mapping starts at the fd's start
        BinaryPrimitives.WriteUInt64LittleEndian(payload[16..], regionOffset);
        BinaryPrimitives.WriteUInt64LittleEndian(payload[24..], length);
        BinaryPrimitives.WriteUInt64LittleEndian(payload[32..], flags);

        int sent;
        try
        {
            sent = fd is null ? _socket.TrySend(message) : SendWithFd(message, fd);
        }
        catch (NativeException e)
        {
            _loop.Post(() => done(MappingOutcome.NotSent));
            FailSending($"sending {request} failed: {e.Message}");
            return;
        }

        if (sent != message.Length)
        {
            // Part of a request may have reached the front-end: what it makes of that is unknown.
            _loop.Post(() => done(sent < 0 ? MappingOutcome.NotSent : MappingOutcome.ChannelLost));
            FailSending(sent < 0
                ? $"the front-end does not read its backend channel (sending {request} would block)"
                : $"only {sent} of {message.Length} bytes of {request} could be sent");
            return;
        }

        _pending.Enqueue(new Pending(request, done, _clock()));
        _timer ??= LoopTimer.Start(_loop, AckTimeoutNanoseconds / 4, OnTimer);
        Log.Debug(Component, $"backend request {request} offset 0x{regionOffset:x} length 0x{length:x} flags 0x{flags:x}");
    }

    private int SendWithFd(ReadOnlySpan<byte> message, FdHandle fd)
    {
        var added = false;
        fd.DangerousAddRef(ref added);
        try
        {
            return _socket.TrySend(message, [fd.Fd]);
        }
        finally
        {
            if (added)
            {
                fd.DangerousRelease();
            }
        }
    }

    /// <summary>
    /// A send failed: nothing more goes out, and the channel is given up on the next loop turn, never inside the caller's
    /// request (whose own callbacks, and those of the requests before it, must not run before it returns).
    /// </summary>
    private void FailSending(string reason)
    {
        _sendFailed = true;
        _loop.Post(() => Lose(reason));
    }

    private void OnTimer()
    {
        _timer?.ConsumeExpirations();
        CheckTimeout();
    }

    private void OnReadable()
    {
        while (!_lost)
        {
            int n;
            try
            {
                n = _socket.Receive(_ack.AsSpan(_ackFilled), _receivedFds, nonBlocking: true, out _);
            }
            catch (NativeException e)
            {
                Lose($"reading it failed: {e.Message}");
                return;
            }

            if (_receivedFds.Count > 0)
            {
                foreach (var fd in _receivedFds)
                {
                    fd.Dispose();
                }

                _receivedFds.Clear();
                Lose("an ack carried file descriptors");
                return;
            }

            if (n < 0)
            {
                return;
            }

            if (n == 0)
            {
                Lose(_ackFilled == 0 ? "the front-end closed it" : $"the front-end closed it after {_ackFilled} bytes of an ack");
                return;
            }

            _ackFilled += n;
            if (_ackFilled >= VhostUserMessage.HeaderSize && CheckHeader() is { } problem)
            {
                Lose(problem);
                return;
            }

            if (_ackFilled == AckSize)
            {
                _ackFilled = 0;
                Complete(BinaryPrimitives.ReadUInt64LittleEndian(_ack.AsSpan(VhostUserMessage.HeaderSize)));
            }
        }
    }

    /// <summary>The ack header must answer the oldest request: its id, flags exactly version | REPLY, an 8-byte u64.</summary>
    private string? CheckHeader()
    {
        var request = BinaryPrimitives.ReadUInt32LittleEndian(_ack);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(_ack.AsSpan(4));
        var size = BinaryPrimitives.ReadUInt32LittleEndian(_ack.AsSpan(8));
        if (!_pending.TryPeek(out var oldest))
        {
            return $"the front-end sent an ack (request {request}) nobody asked for";
        }

        if (request != (uint)oldest.Request)
        {
            return $"the ack names request {request}, expected {(uint)oldest.Request} ({oldest.Request})";
        }

        if (flags != (VhostUserMessage.Version | VhostUserMessage.FlagReply))
        {
            return $"the ack of {oldest.Request} has flags 0x{flags:x}, expected 0x5";
        }

        return size != 8 ? $"the ack of {oldest.Request} carries {size} bytes, expected 8" : null;
    }

    private void Complete(ulong status)
    {
        var p = _pending.Dequeue();
        if (_pending.Count == 0)
        {
            StopTimer();
        }

        Log.Debug(Component, $"backend request {p.Request} acked {status}");
        p.Done(status == 0 ? MappingOutcome.Done : MappingOutcome.Refused);
    }

    private void Lose(string reason)
    {
        if (_lost)
        {
            return;
        }

        Log.GuestFault(Component, "backend-channel", $"backend channel given up: {reason}. Nothing more is mapped into the shared-memory window for this VMM.");
        Close(reason, notify: true);
        Lost?.Invoke(reason);
    }

    private void Close(string reason, bool notify)
    {
        _lost = true;
        LostReason = reason;
        StopTimer();
        _loop.Unwatch(_socket.Fd);
        _socket.Dispose();
        foreach (var fd in _receivedFds)
        {
            fd.Dispose();
        }

        _receivedFds.Clear();
        while (_pending.TryDequeue(out var p))
        {
            if (notify)
            {
                p.Done(MappingOutcome.ChannelLost);
            }
        }
    }

    private void StopTimer()
    {
        _timer?.Dispose();
        _timer = null;
    }

    private readonly record struct Pending(BackendRequest Request, Action<MappingOutcome> Done, long SentAt);
}
