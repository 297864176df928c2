using System.Buffers.Binary;
using System.Collections.Concurrent;
using Spectrum.Camera.Native;

namespace Spectrum.Camera.TestFrontend;

/// <summary>
/// The front-end's end of the backend channel (SET_BACKEND_REQ_FD), served on its own thread as QEMU serves it from its
/// main loop (backend_read in hw/virtio/vhost-user.c, qemu/qemu 1276e6c8): read a header and its fds, then the
/// payload; SHMEM_MAP maps the fd into <see cref="SharedMemoryRegion"/> and SHMEM_UNMAP removes a mapping, each acked
/// only when the request asked (NEED_REPLY) with flags 0x5 and a u64 that is 0 on success and 1 on failure; any other
/// request is refused the same way. QEMU 10.0 has no region, and refuses SHMEM requests as unknown. Tests can make it
/// misbehave (<see cref="Fault"/>) and see every request it got.
/// </summary>
public sealed class BackendChannelServer : IDisposable
{
    public const uint ShmemMap = 9, ShmemUnmap = 10;

    private readonly UnixSocket _socket;
    private volatile SharedMemoryRegion? _region;
    private readonly Thread _thread;
    private readonly ConcurrentQueue<Request> _requests = new();
    private readonly ManualResetEventSlim _released = new(true);
    private volatile bool _stopping;

    /// <param name="socket">QEMU's end of the socketpair.</param>
    /// <param name="region">Region 0, or null for a front-end without one (QEMU 10.0).</param>
    public BackendChannelServer(UnixSocket socket, SharedMemoryRegion? region)
    {
        _socket = socket;
        _region = region;
        _thread = new Thread(Serve) { IsBackground = true, Name = "backend-channel (test front-end)" };
        _thread.Start();
    }

    /// <summary>Region 0 exists from here on (QEMU 11.2 creates it at realize, after the channel).</summary>
    public void AttachRegion(SharedMemoryRegion region) => _region = region;

    /// <summary>How the next acks go wrong (tests of a hostile or stuck front-end).</summary>
    public ChannelFault Fault { get; set; }

    /// <summary>Every request received, in order.</summary>
    public IReadOnlyList<Request> Requests => [.. _requests];

    /// <summary>True once the backend closed its end (or the channel was given up).</summary>
    public bool Closed { get; private set; }

    /// <summary>While held (<see cref="Hold"/>), requests are read but not answered: QEMU's main loop blocked elsewhere.</summary>
    public void Hold() => _released.Reset();

    /// <summary>Answers what was held, in order, and everything after.</summary>
    public void Release() => _released.Set();

    /// <summary>Waits until <paramref name="count"/> requests have arrived.</summary>
    public bool WaitForRequests(int count, TimeSpan timeout) => SpinWait.SpinUntil(() => _requests.Count >= count, timeout);

    public void Dispose()
    {
        _stopping = true;
        _released.Set();
        _socket.Shutdown();
        _thread.Join();
        _socket.Dispose();
        _released.Dispose();
    }

    private void Serve()
    {
        var fds = new List<FdHandle>();
        try
        {
            while (!_stopping)
            {
                var header = new byte[12];
                if (!ReadExactly(header, fds))
                {
                    break;
                }

                var request = BinaryPrimitives.ReadUInt32LittleEndian(header);
                var flags = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
                var size = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
                if (size > 4096)
                {
                    break; // QEMU: "Size exceeds the maximum", the channel is closed
                }

                var payload = new byte[size];
                if (!ReadExactly(payload, fds))
                {
                    break;
                }

                var fd = fds.Count > 0 ? fds[0] : null;
                var r = new Request(request, flags, payload, fds.Count);
                _requests.Enqueue(r);
                _released.Wait();
                if (_stopping)
                {
                    break;
                }

                // A refusing front-end maps nothing (QEMU answers 1 only when it did not map).
                var ok = Fault != ChannelFault.Refuse && Handle(r, fd);
                foreach (var f in fds)
                {
                    f.Dispose();
                }

                fds.Clear();
                if ((flags & 0x8) != 0 && !Answer(request, ok))
                {
                    break;
                }
            }
        }
        catch (NativeException)
        {
            // The backend went away; QEMU closes its end of the channel then too.
        }
        finally
        {
            foreach (var f in fds)
            {
                f.Dispose();
            }

            // QEMU closes its end when the channel fails (close_backend_channel); the backend sees end of stream.
            _socket.Shutdown();
            Closed = true;
        }
    }

    private bool Handle(Request r, FdHandle? fd)
    {
        var region = _region;
        if (region is null || r.Payload.Length < 40)
        {
            return false;
        }

        var p = r.Payload.AsSpan();
        var shmid = p[0];
        var fdOffset = BinaryPrimitives.ReadUInt64LittleEndian(p[8..]);
        var offset = BinaryPrimitives.ReadUInt64LittleEndian(p[16..]);
        var length = BinaryPrimitives.ReadUInt64LittleEndian(p[24..]);
        var mapFlags = BinaryPrimitives.ReadUInt64LittleEndian(p[32..]);
        if (shmid != 0)
        {
            return false;
        }

        return r.Id switch
        {
            ShmemMap => fd is not null && region.Map(fd, fdOffset, offset, length, (mapFlags & 1) != 0) is null,
            ShmemUnmap => region.Unmap(offset, length) is null,
            _ => false,
        };
    }

    /// <summary>The ack, as QEMU's vhost_user_send_resp builds it, or as <see cref="Fault"/> spoils it.</summary>
    private bool Answer(uint request, bool ok)
    {
        var fault = Fault;
        switch (fault)
        {
            case ChannelFault.Silent:
                return true;
            case ChannelFault.Close:
                return false;
        }

        var ack = new byte[fault == ChannelFault.Oversized ? 12 + 64 : 20];
        BinaryPrimitives.WriteUInt32LittleEndian(ack, fault == ChannelFault.WrongRequest ? request + 1 : request);
        BinaryPrimitives.WriteUInt32LittleEndian(ack.AsSpan(4), fault == ChannelFault.BadFlags ? 0xDu : 0x5u);
        BinaryPrimitives.WriteUInt32LittleEndian(ack.AsSpan(8), (uint)(ack.Length - 12));
        BinaryPrimitives.WriteUInt64LittleEndian(ack.AsSpan(12), ok && fault != ChannelFault.Refuse ? 0UL : 1UL);
        if (fault == ChannelFault.ByteAtATime)
        {
            foreach (var b in ack)
            {
                _socket.Send([b]);
                Thread.Sleep(1);
            }
        }
        else if (fault == ChannelFault.WithFd)
        {
            using var stray = EventFd.Create();
            _socket.Send(ack, [stray.Fd]);
        }
        else
        {
            _socket.Send(ack);
            if (fault == ChannelFault.Duplicate)
            {
                _socket.Send(ack);
            }
        }

        return true;
    }

    private bool ReadExactly(byte[] buffer, List<FdHandle> fds)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var n = _socket.Receive(buffer.AsSpan(filled), fds, nonBlocking: false, out _);
            if (n <= 0)
            {
                return false;
            }

            filled += n;
        }

        return true;
    }

    /// <summary>One backend request as it arrived.</summary>
    public sealed record Request(uint Id, uint Flags, byte[] Payload, int FdCount)
    {
        public ulong Offset => BinaryPrimitives.ReadUInt64LittleEndian(Payload.AsSpan(16));

        public ulong Length => BinaryPrimitives.ReadUInt64LittleEndian(Payload.AsSpan(24));

        public ulong MapFlags => BinaryPrimitives.ReadUInt64LittleEndian(Payload.AsSpan(32));
    }
}

/// <summary>How a test front-end spoils its acks on the backend channel.</summary>
public enum ChannelFault
{
    None,

    /// <summary>Requests are handled but never acked (a stuck front-end).</summary>
    Silent,

    /// <summary>Every ack is 1: the front-end refuses.</summary>
    Refuse,

    /// <summary>The ack names another request.</summary>
    WrongRequest,

    /// <summary>The ack's flags are not 0x5.</summary>
    BadFlags,

    /// <summary>The ack carries 64 bytes instead of 8.</summary>
    Oversized,

    /// <summary>The ack carries an fd.</summary>
    WithFd,

    /// <summary>Each ack is sent twice: the second answers nothing.</summary>
    Duplicate,

    /// <summary>The front-end closes the channel instead of acking.</summary>
    Close,

    /// <summary>A good ack, written one byte at a time (the backend must assemble it).</summary>
    ByteAtATime,
}
