using System.Buffers.Binary;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.VhostUser;

/// <summary>
/// The vhost-user backend for one connection (one VM lifetime: QEMU 10.0 cannot reconnect). It owns negotiation and
/// validates every front-end message; the rings, the guest memory map and their lifecycle live in
/// <see cref="VringSet"/>, which drives one <see cref="IVirtioDevice"/>, and a device with a shared-memory region gets
/// the <see cref="BackendChannel"/> as its mapper. All of it runs on the <see cref="EventLoop"/> thread. Per error it
/// decides between a NACK (bad values in a well-formed message: the connection lives on) and a disconnect (a broken
/// byte stream that cannot be resynchronised).
/// </summary>
/// <remarks>
/// A front-end always opens a connection with GET_FEATURES (QEMU's vhost_user_backend_init). A connection that starts
/// with anything else is a front-end resuming, after this process restarted, a connection it negotiated with the
/// previous one: QEMU 11.2's vhost-user-media restarts the device on a new connection without negotiating again
/// (vu_media_connect in hw/display/vhost-user-media.c, qemu/qemu 6439ee61). Such a connection is served with the
/// protocol features that front-end acknowledged of this backend's offer at realize (all of them: QEMU acknowledges
/// every offered bit it knows), so every NEED_REPLY it sends is answered; it hands over no backend channel, so the
/// shared-memory window stays unusable until the VM restarts.
/// </remarks>
public sealed partial class VhostUserBackend : IDisposable
{
    private const string Component = "vhost-user";
    private const ulong VringNoFd = 0x100;

    private readonly IVirtioDevice _device;
    private readonly EventLoop _loop;
    private readonly UnixSocket _socket;
    private readonly VhostUserMessageReader _reader;
    private readonly VringSet _rings;
    private ulong _ackedProtocol;
    private bool _ownerSet;
    private bool _closed;
    private bool _firstMessageSeen;
    private BackendChannel? _channel;
    private ISharedMemoryMapper? _deviceMapper;

    /// <summary>Takes ownership of <paramref name="connection"/>; it is closed on dispose.</summary>
    public VhostUserBackend(IVirtioDevice device, EventLoop loop, UnixSocket connection)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(loop);
        ArgumentNullException.ThrowIfNull(connection);
        _device = device;
        _loop = loop;
        _socket = connection;
        _reader = new VhostUserMessageReader(connection);
        _rings = new VringSet(device, loop);
    }

    /// <summary>Virtio features offered to the front-end.</summary>
    public ulong OfferedFeatures => VhostUserFeatures.Transport | _device.DeviceFeatures;

    /// <summary>Protocol features offered: SHMEM and the backend channel only for a device with a shared-memory region.</summary>
    public ulong OfferedProtocolFeatures => _device.SharedMemoryRegionSize > 0
        ? VhostUserFeatures.OfferedProtocolWithSharedMemory
        : VhostUserFeatures.OfferedProtocol;

    /// <summary>Protocol features in force: those the front-end acknowledged (or, resumed, acknowledged at realize).</summary>
    public ulong AckedProtocolFeatures => _ackedProtocol;

    /// <summary>True when the connection began mid-protocol: a front-end resuming what it negotiated with a previous backend.</summary>
    public bool IsResumed { get; private set; }

    /// <summary>The backend channel the front-end handed over, while it is open.</summary>
    public BackendChannel? Channel => _channel is { IsUsable: true } c ? c : null;

    /// <summary>Why the connection ended, once it has.</summary>
    public DisconnectReason? Disconnect { get; private set; }

    /// <summary>A one-line explanation when <see cref="Disconnect"/> is <see cref="DisconnectReason.ProtocolError"/>.</summary>
    public string? DisconnectDetail { get; private set; }

    /// <summary>Raised on the loop when the connection ends; the executable stops the loop from here.</summary>
    public event Action<DisconnectReason>? Disconnected;

    /// <summary>The current guest memory map (empty before SET_MEM_TABLE).</summary>
    public GuestMemory Memory => _rings.Memory;

    private bool ReplyAck => (_ackedProtocol & VhostUserFeatures.ProtocolReplyAck) != 0;

    /// <summary>Attaches the device and starts reading front-end messages on the loop.</summary>
    public void Start()
    {
        _device.Attach(_loop);
        _loop.Watch(_socket.Fd, OnSocketReadable);
    }

    /// <summary>Stops every ring and releases memory and fds. Idempotent.</summary>
    public void Dispose()
    {
        if (_closed)
        {
            return;
        }

        _closed = true;
        _loop.Unwatch(_socket.Fd);
        _rings.Dispose();
        _channel?.Dispose();
        _channel = null;
        UpdateSharedMemory();
        _device.ConnectionEnded();
        _reader.Dispose();
        _socket.Dispose();
    }

    private void OnSocketReadable()
    {
        while (!_closed)
        {
            using var message = _reader.TryRead(out var state, out var error);
            switch (state)
            {
                case VhostUserMessageReader.ReadState.NeedMore:
                    return;
                case VhostUserMessageReader.ReadState.EndOfStream:
                    Log.Info(Component, "front-end closed the connection");
                    End(DisconnectReason.EndOfStream, null);
                    return;
                case VhostUserMessageReader.ReadState.Malformed:
                    Log.Error(Component, $"protocol error, closing the connection: {error}");
                    End(DisconnectReason.ProtocolError, error);
                    return;
            }

            try
            {
                Dispatch(message!);
            }
            catch (NativeException e) when (e.IsPeerGone)
            {
                Log.Info(Component, $"front-end went away while we replied: {e.Message}");
                End(DisconnectReason.EndOfStream, null);
                return;
            }
        }
    }

    private void End(DisconnectReason reason, string? detail)
    {
        Disconnect = reason;
        DisconnectDetail = detail;
        Dispose();
        Disconnected?.Invoke(reason);
    }

    private void Dispatch(VhostUserMessage m)
    {
        Log.Debug(Component, $"{m.Request} flags=0x{m.Flags:x} size={m.Payload.Length} fds={m.FdCount}");
        if (!_firstMessageSeen)
        {
            _firstMessageSeen = true;
            if (m.Request != VhostUserRequest.GetFeatures)
            {
                Resume(m);
            }
        }

        switch (m.Request)
        {
            // Requests with an explicit reply: NEED_REPLY is satisfied by that reply.
            case VhostUserRequest.GetFeatures:
                // Answerable at any time: QEMU also uses it as a barrier.
                ExpectFds(m, 0);
                ReplyU64(m, OfferedFeatures);
                return;
            case VhostUserRequest.GetProtocolFeatures:
                ExpectFds(m, 0);
                ReplyU64(m, OfferedProtocolFeatures);
                return;
            case VhostUserRequest.GetQueueNum:
                ExpectFds(m, 0);
                ReplyU64(m, (ulong)_rings.Count);
                return;
            case VhostUserRequest.GetVringBase:
                HandleGetVringBase(m);
                return;
            case VhostUserRequest.GetConfig:
                HandleGetConfig(m);
                return;
            case VhostUserRequest.GetShmemConfig:
                HandleGetShmemConfig(m);
                return;
            default:
                Ack(m, HandleWithoutReply(m));
                return;
        }
    }

    private bool HandleWithoutReply(VhostUserMessage m) => m.Request switch
    {
        VhostUserRequest.SetFeatures => HandleSetFeatures(m),
        VhostUserRequest.SetProtocolFeatures => HandleSetProtocolFeatures(m),
        VhostUserRequest.SetOwner => HandleSetOwner(m),
        VhostUserRequest.ResetOwner => HandleResetOwner(m),
        VhostUserRequest.SetMemTable => HandleSetMemTable(m),
        VhostUserRequest.SetVringNum => HandleSetVringNum(m),
        VhostUserRequest.SetVringAddr => HandleSetVringAddr(m),
        VhostUserRequest.SetVringBase => HandleSetVringBase(m),
        VhostUserRequest.SetVringKick => HandleSetVringFd(m, VringFdKind.Kick),
        VhostUserRequest.SetVringCall => HandleSetVringFd(m, VringFdKind.Call),
        VhostUserRequest.SetVringErr => HandleSetVringFd(m, VringFdKind.Err),
        VhostUserRequest.SetVringEnable => HandleSetVringEnable(m),
        VhostUserRequest.SetBackendReqFd => HandleSetBackendReqFd(m),
        VhostUserRequest.SetConfig => Refuse(m, "the device configuration space is read-only"),
        _ => Refuse(m, "request not supported by this backend (feature not offered)"),
    };

    /// <summary>A connection that begins mid-protocol: serve it with what the front-end negotiated with our predecessor.</summary>
    private void Resume(VhostUserMessage first)
    {
        IsResumed = true;
        _ackedProtocol = OfferedProtocolFeatures;
        Log.Warning(Component, $"the VMM resumed a connection negotiated with a previous sidecar (its first message is {first.Request}, " +
            "not GET_FEATURES): serving it with the protocol features it acknowledged then (0x" + _ackedProtocol.ToString("x") + "). " +
            "Its guest's open sessions are gone, and without a new backend channel no MMAP buffer can be mapped until the VM restarts.");
    }

    /// <summary>
    /// Hands the device its mapper when region 0 can be used (SHMEM and REPLY_ACK acknowledged, a backend channel open)
    /// and takes it back when it no longer can.
    /// </summary>
    private void UpdateSharedMemory()
    {
        var usable = !_closed && _device.SharedMemoryRegionSize > 0 && _channel is { IsUsable: true } &&
                     (_ackedProtocol & VhostUserFeatures.ProtocolShmem) != 0 && ReplyAck;
        ISharedMemoryMapper? mapper = usable ? _channel : null;
        if (!ReferenceEquals(mapper, _deviceMapper))
        {
            _deviceMapper = mapper;
            _device.SharedMemoryChanged(mapper);
        }
    }

    /// <summary>REPLY_ACK (protocol bit 3): a u64 status for any request without its own reply that asked for one.</summary>
    private void Ack(VhostUserMessage m, bool success)
    {
        if (ReplyAck && m.NeedsReply)
        {
            ReplyU64(m, success ? 0UL : 1UL);
        }
    }

    private void ReplyU64(VhostUserMessage m, ulong value)
    {
        Span<byte> payload = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(payload, value);
        Reply(m.Request, payload);
    }

    /// <summary>Sends a reply: flags must be exactly 0x5 (version 1 | REPLY) or QEMU rejects it.</summary>
    private void Reply(VhostUserRequest request, ReadOnlySpan<byte> payload)
    {
        Span<byte> buffer = stackalloc byte[VhostUserMessage.HeaderSize + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)request);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[4..], VhostUserMessage.Version | VhostUserMessage.FlagReply);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[8..], (uint)payload.Length);
        payload.CopyTo(buffer[VhostUserMessage.HeaderSize..]);
        _socket.Send(buffer);
    }

    private static bool Refuse(VhostUserMessage m, string why)
    {
        Log.GuestFault(Component, "vmm-refused", $"refused {m.Request} ({(uint)m.Request}): {why}");
        return false;
    }

    private static bool ExpectPayload(VhostUserMessage m, int size) =>
        m.Payload.Length == size || Refuse(m, $"payload is {m.Payload.Length} bytes, expected {size}");

    private static bool ExpectFds(VhostUserMessage m, int count) =>
        m.FdCount == count || Refuse(m, $"{m.FdCount} fds attached, expected {count} (they were closed)");

    private bool TryQueueIndex(VhostUserMessage m, ulong index, out int queue)
    {
        queue = (int)Math.Min(index, int.MaxValue);
        return index < (ulong)_rings.Count || Refuse(m, $"queue index {index} is not below {_rings.Count}");
    }

    /// <summary>How a connection ended.</summary>
    public enum DisconnectReason
    {
        EndOfStream,
        ProtocolError,
    }

    private enum VringFdKind
    {
        Kick,
        Call,
        Err,
    }
}
