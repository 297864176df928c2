using System.Buffers.Binary;
using Spectrum.Camera.Native;

namespace Spectrum.Camera.TestFrontend;

/// <summary>
/// The VMM side of vhost-user, written independently of the backend's codec so that tests check the wire format
/// rather than agree with themselves. It can send well-formed requests and raw, malformed ones.
/// </summary>
public sealed class VhostUserClient : IDisposable
{
    public const uint GetFeatures = 1, SetFeatures = 2, SetOwner = 3, SetMemTable = 5, SetVringNum = 8, SetVringAddr = 9,
        SetVringBase = 10, GetVringBase = 11, SetVringKick = 12, SetVringCall = 13, SetVringErr = 14,
        GetProtocolFeatures = 15, SetProtocolFeatures = 16, GetQueueNum = 17, SetVringEnable = 18, SetBackendReqFd = 21, GetConfig = 24,
        SetConfig = 25, GetShmemConfigRequest = 44;

    /// <summary>Bytes of the GET_SHMEM_CONFIG reply: u32 nregions, u32 padding, u64 memory_sizes[256].</summary>
    public const int ShmemConfigSize = 8 + (256 * 8);

    private readonly UnixSocket _socket;
    private readonly Epoll _epoll = Epoll.Create();

    public VhostUserClient(UnixSocket socket)
    {
        _socket = socket;
        _epoll.Add(socket.Fd, 1);
    }

    /// <summary>True once SET_PROTOCOL_FEATURES acked REPLY_ACK; then requests carry NEED_REPLY and wait for the ack.</summary>
    public bool ReplyAck { get; set; }

    /// <summary>How long to wait for a reply before failing the test.</summary>
    public TimeSpan ReplyTimeout { get; set; } = TimeSpan.FromSeconds(10);

    public static VhostUserClient Connect(string path) => new(UnixSocket.Connect(path));

    public UnixSocket Socket => _socket;

    /// <summary>Sends one message: header (request, flags, size) + payload, with fds on the first bytes.</summary>
    public void SendRaw(uint request, uint flags, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds = default, uint? sizeOverride = null)
    {
        var buffer = new byte[12 + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, request);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(4), flags);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(8), sizeOverride ?? (uint)payload.Length);
        payload.CopyTo(buffer.AsSpan(12));
        _socket.Send(buffer, fds);
    }

    /// <summary>Reads one reply and checks its header (flags exactly 0x5, matching request).</summary>
    public byte[] ReadReply(uint request)
    {
        var header = ReadExactly(12);
        var r = BinaryPrimitives.ReadUInt32LittleEndian(header);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
        var size = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
        if (r != request || flags != 0x5)
        {
            throw new InvalidDataException($"reply header request {r} flags 0x{flags:x}, expected request {request} flags 0x5");
        }

        return size > 4096 ? throw new InvalidDataException($"reply size {size}") : ReadExactly((int)size);
    }

    /// <summary>Sends a request without its own reply; with REPLY_ACK returns the ack (0 = success), else 0.</summary>
    public ulong Send(uint request, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds = default)
    {
        SendRaw(request, ReplyAck ? 0x9u : 0x1u, payload, fds);
        if (!ReplyAck)
        {
            return 0;
        }

        var ack = ReadReply(request);
        return ack.Length == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(ack) : throw new InvalidDataException("ack is not 8 bytes");
    }

    public ulong RequestU64(uint request)
    {
        SendRaw(request, 0x1, []);
        var reply = ReadReply(request);
        return reply.Length == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(reply) : throw new InvalidDataException("reply is not 8 bytes");
    }

    public ulong SendU64(uint request, ulong value, ReadOnlySpan<int> fds = default)
    {
        Span<byte> p = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(p, value);
        return Send(request, p, fds);
    }

    public ulong SendVringState(uint request, uint index, uint num)
    {
        Span<byte> p = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(p, index);
        BinaryPrimitives.WriteUInt32LittleEndian(p[4..], num);
        return Send(request, p);
    }

    public ulong SendVringAddress(uint index, ulong descUva, ulong usedUva, ulong availUva)
    {
        Span<byte> p = stackalloc byte[40];
        p.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(p, index);
        BinaryPrimitives.WriteUInt64LittleEndian(p[8..], descUva);
        BinaryPrimitives.WriteUInt64LittleEndian(p[16..], usedUva);
        BinaryPrimitives.WriteUInt64LittleEndian(p[24..], availUva);
        return Send(SetVringAddr, p);
    }

    public ulong SendMemTable(GuestRam ram)
    {
        ArgumentNullException.ThrowIfNull(ram);
        var p = new byte[8 + (32 * ram.Regions.Count)];
        BinaryPrimitives.WriteUInt32LittleEndian(p, (uint)ram.Regions.Count);
        var fds = new int[ram.Regions.Count];
        for (var i = 0; i < ram.Regions.Count; i++)
        {
            var r = ram.Regions[i];
            var s = p.AsSpan(8 + (32 * i));
            BinaryPrimitives.WriteUInt64LittleEndian(s, r.GuestPhysicalAddress);
            BinaryPrimitives.WriteUInt64LittleEndian(s[8..], r.Size);
            BinaryPrimitives.WriteUInt64LittleEndian(s[16..], r.UserAddress);
            BinaryPrimitives.WriteUInt64LittleEndian(s[24..], r.MmapOffset);
            fds[i] = ram.Fd.Fd;
        }

        return Send(SetMemTable, p, fds);
    }

    public (uint Index, uint Num) GetVringBaseOf(uint index)
    {
        Span<byte> p = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(p, index);
        BinaryPrimitives.WriteUInt32LittleEndian(p[4..], 0);
        SendRaw(GetVringBase, 0x1, p);
        var reply = ReadReply(GetVringBase);
        return (BinaryPrimitives.ReadUInt32LittleEndian(reply), BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(4)));
    }

    public byte[] GetConfigBytes(uint offset, uint size)
    {
        var p = new byte[12 + size];
        BinaryPrimitives.WriteUInt32LittleEndian(p, offset);
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(4), size);
        SendRaw(GetConfig, 0x1, p);
        return ReadReply(GetConfig);
    }

    /// <summary>
    /// GET_SHMEM_CONFIG as QEMU 11.2 reads it (vhost_user_get_shmem_config): the reply's request id and size are not
    /// checked there, a shorter payload leaves the rest zero, and more than 256 regions fail realize.
    /// </summary>
    public (uint Regions, ulong Size0) GetShmemConfig()
    {
        SendRaw(GetShmemConfigRequest, 0x1, []);
        var reply = ReadAnyReply();
        var padded = new byte[ShmemConfigSize];
        reply.AsSpan(0, Math.Min(reply.Length, padded.Length)).CopyTo(padded);
        var regions = BinaryPrimitives.ReadUInt32LittleEndian(padded);
        return regions > 256
            ? throw new InvalidDataException($"Received too many shared memory regions: {regions}")
            : (regions, BinaryPrimitives.ReadUInt64LittleEndian(padded.AsSpan(8)));
    }

    /// <summary>Reads one reply whatever request it names (flags must still be 0x5), its payload at most QEMU 11.2's 2,056 bytes.</summary>
    public byte[] ReadAnyReply()
    {
        var header = ReadExactly(12);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
        var size = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
        if (flags != 0x5 || size > ShmemConfigSize)
        {
            throw new InvalidDataException($"reply flags 0x{flags:x} size {size}");
        }

        return ReadExactly((int)size);
    }

    /// <summary>True when the backend has closed the connection (reads EOF within <paramref name="timeout"/>).</summary>
    public bool WaitForClose(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var buffer = new byte[64];
        var fds = new List<FdHandle>();
        while (DateTime.UtcNow < deadline)
        {
            var n = _socket.Receive(buffer, fds, nonBlocking: true, out _);
            foreach (var fd in fds)
            {
                fd.Dispose();
            }

            fds.Clear();
            if (n == 0)
            {
                return true;
            }

            Thread.Sleep(5);
        }

        return false;
    }

    public void Dispose()
    {
        _epoll.Dispose();
        _socket.Dispose();
    }

    private byte[] ReadExactly(int count)
    {
        var result = new byte[count];
        var filled = 0;
        var fds = new List<FdHandle>();
        var deadline = DateTime.UtcNow + ReplyTimeout;
        Span<ulong> ready = stackalloc ulong[1];
        while (filled < count)
        {
            var n = _socket.Receive(result.AsSpan(filled), fds, nonBlocking: true, out _);
            foreach (var fd in fds)
            {
                fd.Dispose();
            }

            fds.Clear();
            if (n == 0)
            {
                throw new EndOfStreamException("backend closed the connection");
            }

            if (n < 0)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || _epoll.Wait(ready, (int)left.TotalMilliseconds + 1) == 0 && DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException("no reply from the backend");
                }

                continue;
            }

            filled += n;
        }

        return result;
    }
}
