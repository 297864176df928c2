using System.Buffers.Binary;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Media.Device;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Sources;
using Spectrum.Camera.VhostUser;

namespace Spectrum.Camera.Fuzz.Targets;

/// <summary>
/// vhost-user messages: the input is a byte stream cut into socket writes, each optionally carrying fds (eventfds or a
/// guest-RAM memfd). It goes over a real socketpair to a real <see cref="VhostUserBackend"/> (VhostUserMessageReader
/// framing, every request handler, memory table, ring lifecycle) driving a real <see cref="VirtioMediaDevice"/>, on a
/// <see cref="EventLoop"/> run on this thread until the backend sees the end of the stream (or closes it on a framing
/// error). Replies are drained on the same loop. A NACK, a refused value or a closed connection is the expected
/// outcome of bad input; an exception out of the loop is a finding.
/// </summary>
/// <remarks>
/// Write: u8 ctl (bits 0-1: number of fds; bit 2+i: fd i is the RAM memfd rather than an eventfd; bit 6: fd 0 is one
/// end of a new socketpair, a backend channel whose other end the VMM keeps; bit 5: the bytes go on that backend channel
/// instead of the vhost-user socket, as acks the backend never asked for or garbage), u16 length, bytes. At most 64
/// writes and 32 KiB per input. The RAM memfd is 1 MiB and shared by the writes of one input. The device has the
/// default 512 MiB shared-memory window, so SHMEM is offered and GET_SHMEM_CONFIG answered.
/// </remarks>
public sealed class VhostUserTarget : IFuzzTarget
{
    public const ulong RamSize = 1UL << 20;
    public const ulong UserBase = 0x7f00_0000_0000;
    private const int MaxWrites = 64;
    private const int MaxBytes = 32 * 1024;

    private readonly IFrameSource _source = new BlackFrameSource();
    private readonly byte[] _drain = new byte[4096];
    private readonly List<FdHandle> _drainFds = [];

    public string Name => "vhost-user";

    public void Run(ReadOnlySpan<byte> input)
    {
        var (front, back) = UnixSocket.CreatePair();
        Afl.Native.EnlargeSocketBuffers(front.Fd, 4 << 20);
        Afl.Native.EnlargeSocketBuffers(back.Fd, 4 << 20);
        using var loop = new EventLoop();
        using var device = new VirtioMediaDevice(new MediaDeviceOptions(MediaDeviceOptions.DefaultCard, StableMenu.Default, _source));
        using var backend = new VhostUserBackend(device, loop, back);
        FdHandle? ram = null;
        UnixSocket? channel = null;
        try
        {
            backend.Disconnected += _ => loop.RequestStop();
            backend.Start();

            var r = new ByteReader(input.Length > MaxBytes ? input[..MaxBytes] : input);
            Span<int> fds = stackalloc int[3];
            var owned = new List<IDisposable>();
            for (var n = 0; n < MaxWrites && !r.IsEmpty; n++)
            {
                var ctl = r.U8();
                var length = r.U16();
                var data = r.Bytes(length);
                var count = ctl & 3;
                if ((ctl & 0x20) != 0)
                {
                    if (channel is not null && !data.IsEmpty)
                    {
                        _ = channel.TrySend(data);
                    }

                    continue;
                }

                for (var i = 0; i < count; i++)
                {
                    if (i == 0 && (ctl & 0x40) != 0)
                    {
                        var (theirs, ours) = UnixSocket.CreatePair();
                        owned.Add(theirs);
                        channel?.Dispose();
                        channel = ours;
                        fds[i] = theirs.Fd;
                    }
                    else if ((ctl & (4 << i)) != 0)
                    {
                        ram ??= MemFd.Create("fuzz-vhost-ram", RamSize);
                        fds[i] = ram.Fd;
                    }
                    else
                    {
                        var eventFd = EventFd.Create();
                        owned.Add(eventFd);
                        fds[i] = eventFd.Fd;
                    }
                }

                if (!data.IsEmpty)
                {
                    front.Send(data, fds[..count]);
                }
            }

            // The sent fds are duplicated into the backend's socket: ours can go now.
            foreach (var fd in owned)
            {
                fd.Dispose();
            }

            // End of the VMM's stream; the backend keeps replying into our receive queue, drained on the loop.
            _ = Afl.Native.Shutdown(front.Fd, Afl.Native.ShutWr);
            loop.Watch(front.Fd, () => Drain(front, loop));
            loop.Run();
            loop.Unwatch(front.Fd);
            if (backend.Disconnect is null)
            {
                throw new InvariantViolationException("the loop stopped but the backend did not see the end of the stream");
            }
        }
        finally
        {
            backend.Dispose();
            ram?.Dispose();
            channel?.Dispose();
            front.Dispose();
        }
    }

    private void Drain(UnixSocket front, EventLoop loop)
    {
        while (true)
        {
            var n = front.Receive(_drain, _drainFds, nonBlocking: true, out _);
            foreach (var fd in _drainFds)
            {
                fd.Dispose();
            }

            _drainFds.Clear();
            if (n == 0)
            {
                loop.Unwatch(front.Fd);
                return;
            }

            if (n < 0)
            {
                return;
            }
        }
    }

    public IEnumerable<(string Name, byte[] Data)> Seeds()
    {
        yield return ("qemu-init", Init().Build());
        yield return ("qemu-init-start", Start(Init()).Build());
        yield return ("qemu-init-start-stop-cont", Start(Stop(Start(Init()))).Build());
        yield return ("qemu-get-config", Init().Message(24, 0x1, ConfigRead(0, 40)).Message(24, 0x1, ConfigRead(8, 32)).Build());
        yield return ("qemu-no-reply-ack", Start(Init(replyAck: false), flags: 0x1).Build());
        yield return ("qemu-11.2-realize", Start(Init(qemu112: true)).Build());
        yield return ("qemu-11.2-channel-junk", Start(Init(qemu112: true))
            .Channel([0x09, 0, 0, 0, 0x05, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
            .Message(44, 0x1, []).Build());
        yield return ("qemu-11.2-resumed", Start(new Stream(), flags: 0x9).Build());
        // One write carrying several messages, and one message cut across writes.
        var whole = Start(Init()).Build();
        yield return ("split-writes", Resplit(whole));
    }

    /// <summary>
    /// Connection and realize: QEMU 10.0's (protocol 0x209), or QEMU 11.2's media device's (the whole offer 0x400629, the
    /// backend channel, then GET_SHMEM_CONFIG after the rings' call and err fds).
    /// </summary>
    private static Stream Init(bool replyAck = true, bool qemu112 = false)
    {
        var flags = replyAck ? 0x9u : 0x1u;
        var protocol = qemu112 ? 0x400629UL : 0x209UL;
        var s = new Stream()
            .Message(1, 0x1, [])
            .Message(15, 0x1, [])
            .Message(16, 0x1, U64(replyAck ? protocol : protocol & ~0x8UL))
            .Message(17, 0x1, []);
        if (qemu112)
        {
            s.Message(21, flags, [], fds: 1, channel: true);
        }

        s.Message(3, flags, [])
            .Message(1, 0x1, []);
        for (var q = 0UL; q < 2; q++)
        {
            s.Message(13, flags, U64(q), fds: 1).Message(14, flags, U64(q), fds: 1);
        }

        return qemu112 ? s.Message(44, 0x1, []) : s;
    }

    /// <summary>§3.2: features, memory table (one 1 MiB region), each ring described, kicked, called, enabled.</summary>
    private static Stream Start(Stream s, uint flags = 0x9)
    {
        s.Message(2, flags, U64(0x1_7000_0000UL));
        var table = new byte[8 + 32];
        BinaryPrimitives.WriteUInt32LittleEndian(table, 1);
        BinaryPrimitives.WriteUInt64LittleEndian(table.AsSpan(8 + 8), RamSize);
        BinaryPrimitives.WriteUInt64LittleEndian(table.AsSpan(8 + 16), UserBase);
        s.Message(5, flags, table, fds: 1, ram: true);
        for (var q = 0u; q < 2; q++)
        {
            var ringBase = UserBase + 0x10000 + (q * 0x10000);
            var address = new byte[40];
            BinaryPrimitives.WriteUInt32LittleEndian(address, q);
            BinaryPrimitives.WriteUInt64LittleEndian(address.AsSpan(8), ringBase);
            BinaryPrimitives.WriteUInt64LittleEndian(address.AsSpan(16), ringBase + 0x2000);
            BinaryPrimitives.WriteUInt64LittleEndian(address.AsSpan(24), ringBase + 0x1000);
            s.Message(8, flags, VringState(q, 256)).Message(10, flags, VringState(q, 0)).Message(9, flags, address)
                .Message(12, flags, U64(q), fds: 1).Message(13, flags, U64(q), fds: 1);
        }

        for (var q = 0u; q < 2; q++)
        {
            s.Message(18, flags, VringState(q, 1));
        }

        return s;
    }

    /// <summary>§3.3: disable both rings, then GET_VRING_BASE each.</summary>
    private static Stream Stop(Stream s)
    {
        for (var q = 0u; q < 2; q++)
        {
            s.Message(18, 0x9, VringState(q, 0));
        }

        for (var q = 0u; q < 2; q++)
        {
            s.Message(11, 0x1, VringState(q, 0));
        }

        return s;
    }

    private static byte[] U64(ulong value)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        return b;
    }

    private static byte[] VringState(uint index, uint num)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(b, index);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), num);
        return b;
    }

    private static byte[] ConfigRead(uint offset, uint size)
    {
        var b = new byte[12 + size];
        BinaryPrimitives.WriteUInt32LittleEndian(b, offset);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), size);
        return b;
    }

    /// <summary>Re-cuts a seed: fd-less messages are merged into 100-byte writes, so message boundaries fall mid-write.</summary>
    private static byte[] Resplit(byte[] seed)
    {
        var output = new ByteWriter();
        var pending = new List<byte>();
        var r = new ByteReader(seed);
        while (!r.IsEmpty)
        {
            var ctl = r.U8();
            var data = r.Bytes(r.U16()).ToArray();
            if ((ctl & 3) != 0)
            {
                Flush(output, pending);
                output.U8(ctl).U16(data.Length).Bytes(data);
                continue;
            }

            pending.AddRange(data);
        }

        Flush(output, pending);
        return output.ToArray();

        static void Flush(ByteWriter output, List<byte> pending)
        {
            for (var i = 0; i < pending.Count; i += 100)
            {
                var chunk = pending.GetRange(i, Math.Min(100, pending.Count - i)).ToArray();
                output.U8(0).U16(chunk.Length).Bytes(chunk);
            }

            pending.Clear();
        }
    }

    /// <summary>The target's input: one write per message (header + payload), fds on it as the ctl byte says.</summary>
    private sealed class Stream
    {
        private readonly ByteWriter _w = new();

        public Stream Message(uint request, uint flags, byte[] payload, int fds = 0, bool ram = false, bool channel = false)
        {
            var message = new byte[12 + payload.Length];
            BinaryPrimitives.WriteUInt32LittleEndian(message, request);
            BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(4), flags);
            BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(8), (uint)payload.Length);
            payload.CopyTo(message.AsSpan(12));
            _w.U8(fds | (ram ? 4 : 0) | (channel ? 0x40 : 0)).U16(message.Length).Bytes(message);
            return this;
        }

        /// <summary>Bytes the VMM writes on its end of the backend channel.</summary>
        public Stream Channel(byte[] bytes)
        {
            _w.U8(0x20).U16(bytes.Length).Bytes(bytes);
            return this;
        }

        public byte[] Build() => _w.ToArray();
    }
}
