using System.Buffers.Binary;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Media.Device;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Sources;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.VhostUser;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Fuzz.Targets;

/// <summary>
/// virtio-media commands with every ioctl payload: the input is a list of commands that the target lays out as
/// command-queue chains in memfd guest RAM, as a guest driver would, for a fresh <see cref="VirtioMediaDevice"/>. The
/// device gets its queues the way <see cref="VhostUserBackend"/> hands them over (QueueStarted with a DeviceQueue over
/// a validated SplitQueue, then QueueNotified) and runs on its own <see cref="EventLoop"/>, so commands take the
/// production path: chain copy, command dispatch, session table, ioctl allowlist, every ioctl handler, SG-list
/// parsing and the response writer. Checks: completions fit the writable part (the transport throws otherwise), the
/// device never writes to a command's readable bytes, and the session table stays within its limit.
/// </summary>
/// <remarks>
/// Command: u8 ctl (1 split the readable part in two descriptors, 2 behind one INDIRECT descriptor, 8 split the
/// writable part, 16 not a command: the bytes the VMM writes on the backend channel for the next request, in place of
/// its ack), u32 readable length, u16 writable length, then the readable bytes (the virtio-media command: header,
/// session, ioctl code, payload, SG entries). Guest RAM: 8 MiB in two regions around QEMU's 640K-768K hole; a
/// 1024-entry command queue, commands at 0x10000, indirect tables at 0x90000, responses at 0xC0000, capture buffers
/// (SG targets) from 0x100000. The device has a 64 MiB window whose backend channel is a real
/// <see cref="BackendChannel"/> on a socketpair: the VMM's end answers each SHMEM_MAP/UNMAP with the next scripted bytes,
/// or with a good ack once the scripts are used up. Checks on the window: its buffers within its size, its mappings
/// within the limit, inside the region and disjoint.
/// </remarks>
public sealed unsafe class MediaTarget : IFuzzTarget, IDisposable
{
    public const ulong RamSize = 8UL << 20;
    public const ulong HoleStart = 0xA0000, HoleEnd = 0xC0000;
    public const ulong CommandArea = 0x10000, CommandAreaEnd = 0x90000;
    public const ulong ResponseArea = 0xC0000, ResponseAreaEnd = 0x100000;
    public const ulong IndirectArea = 0x90000, IndirectAreaEnd = 0xA0000;
    public const ulong EventBuffers = 0xA000;
    public const ulong BufferArea = 0x100000;
    public const ulong UserBase = 0x7f00_0000_0000;
    private const int MaxCommands = 600;
    private const int EventBufferCount = 16;
    private const ulong Window = 64UL << 20;

    private readonly FdHandle _fd;
    private readonly MappedMemory _ram;
    private readonly GuestMemory _memory;
    private readonly GuestRing _commands;
    private readonly GuestRing _events;
    private readonly IFrameSource _source = new BlackFrameSource();
    private readonly List<(ulong Gpa, int Offset, int Length)> _placed = [];
    private readonly Queue<byte[]> _ackScripts = new();
    private readonly byte[] _peerBuffer = new byte[4096];
    private readonly List<FdHandle> _peerFds = [];
    private int _peerFilled;
    private ulong _dirtyCommands = CommandArea, _dirtyResponses = ResponseArea, _dirtyIndirect = IndirectArea;

    public MediaTarget()
    {
        _fd = MemFd.Create("fuzz-media-ram", RamSize);
        _ram = MappedMemory.MapShared(_fd, RamSize);
        _memory = new GuestMemory(
        [
            GuestMemoryRegion.Map(0, HoleStart, UserBase, 0, _fd),
            GuestMemoryRegion.Map(HoleEnd, RamSize - HoleEnd, UserBase + HoleEnd, HoleEnd, _fd),
        ]);
        _commands = new GuestRing(_ram.BaseAddress, 0x1000, 0x5000, 0x6000, 1024);
        _events = new GuestRing(_ram.BaseAddress, 0x9000, 0x9400, 0x9800, 64);
    }

    public string Name => "media";

    public void Run(ReadOnlySpan<byte> input)
    {
        var ram = _ram.BaseAddress;
        new Span<byte>(ram + CommandArea, (int)(_dirtyCommands - CommandArea)).Clear();
        new Span<byte>(ram + ResponseArea, (int)(_dirtyResponses - ResponseArea)).Clear();
        new Span<byte>(ram + IndirectArea, (int)(_dirtyIndirect - IndirectArea)).Clear();
        _commands.Reset();
        _events.Reset();
        for (var i = 0; i < EventBufferCount; i++)
        {
            _events.AddChain([(EventBuffers + (ulong)(i * 1024), 1024, true)]);
        }

        LayOut(input);

        using var loop = new EventLoop();
        using var device = new VirtioMediaDevice(new MediaDeviceOptions(MediaDeviceOptions.DefaultCard, StableMenu.Default, _source)
        {
            SharedMemorySize = Window,
        });
        var (ours, peer) = UnixSocket.CreatePair();
        var now = 0L;
        var channel = new BackendChannel(loop, ours, Window, () => now);
        _peerFilled = 0;
        loop.Watch(peer.Fd, () => AnswerRequests(peer, loop));
        try
        {
            device.Attach(loop);
            device.SharedMemoryChanged(channel);
            var commandq = Start(_commands);
            var eventq = Start(_events);
            device.QueueStarted(VirtioMediaDevice.CommandQueue, commandq);
            device.QueueStarted(VirtioMediaDevice.EventQueue, eventq);
            device.QueueNotified(VirtioMediaDevice.EventQueue);
            device.QueueNotified(VirtioMediaDevice.CommandQueue);

            // The device yields after 64 commands and continues from a posted callback, and maps wait for acks: run
            // the loop until that is done. The check goes round through epoll (an eventfd), so each turn also lets the
            // VMM's end and the channel read what arrived; requests a script left unanswered time out on the
            // channel's clock.
            using var tick = EventFd.Create();
            var idleTurns = 0;
            void StopWhenIdle()
            {
                tick.Consume();
                if (channel.PendingCount > 0 && ++idleTurns < 16)
                {
                    tick.Signal();
                    return;
                }

                if (channel.PendingCount > 0)
                {
                    now += BackendChannel.AckTimeoutNanoseconds + 1;
                    channel.CheckTimeout();
                }

                loop.RequestStop();
            }

            loop.Watch(tick.Fd, StopWhenIdle);
            loop.Post(tick.Signal);
            loop.Run();
            loop.Unwatch(tick.Fd);

            if (device.SessionCount > device.Options.SessionLimit)
            {
                throw new InvariantViolationException($"{device.SessionCount} sessions open, limit {device.Options.SessionLimit}");
            }

            CheckWindow(device.Window);
        }
        finally
        {
            loop.Unwatch(peer.Fd);
            channel.Dispose();
            peer.Dispose();
            foreach (var fd in _peerFds)
            {
                fd.Dispose();
            }

            _peerFds.Clear();
        }

        if (device.Counters.Delivered + device.Counters.Failed == 0)
        {
            // No frame was rendered (a frame may target any guest page): command bytes must be untouched.
            foreach (var (gpa, offset, length) in _placed)
            {
                if (!new ReadOnlySpan<byte>(ram + gpa, length).SequenceEqual(input.Slice(offset, length)))
                {
                    throw new InvariantViolationException($"the device wrote into a command's readable bytes at gpa 0x{gpa:x}");
                }
            }
        }

        device.QueueStopped(VirtioMediaDevice.EventQueue);
        device.QueueStopped(VirtioMediaDevice.CommandQueue);
    }

    /// <summary>The window's own bounds: buffers within its size, mappings within the limit, inside it, never overlapping.</summary>
    private static void CheckWindow(SharedMemoryWindow window)
    {
        if (window.BufferBytes > window.RegionSize || window.MappingCount > SharedMemoryWindow.MaxMappings)
        {
            throw new InvariantViolationException($"window holds {window.BufferBytes} buffer bytes and {window.MappingCount} mappings");
        }

        var end = 0UL;
        foreach (var (offset, length, _) in window.Mapped.OrderBy(m => m.Offset))
        {
            if (offset < end || length == 0 || length > window.RegionSize || offset > window.RegionSize - length)
            {
                throw new InvariantViolationException($"mapping [0x{offset:x}, +0x{length:x}) overlaps another or leaves the window");
            }

            end = offset + length;
        }
    }

    /// <summary>
    /// The VMM's end of the backend channel: each complete request (header, then its payload) gets the next scripted
    /// bytes, or a good ack (flags 0x5, u64 0) once the scripts are used up.
    /// </summary>
    private void AnswerRequests(UnixSocket peer, EventLoop loop)
    {
        int n;
        try
        {
            n = peer.Receive(_peerBuffer.AsSpan(_peerFilled), _peerFds, nonBlocking: true, out _);
        }
        catch (NativeException e) when (e.IsPeerGone)
        {
            // The backend gave the channel up (an out-of-protocol answer) and closed its end while requests it had
            // sent were unread here: the kernel reports that as a reset. Nothing more to answer.
            loop.Unwatch(peer.Fd);
            return;
        }

        if (n <= 0)
        {
            if (n == 0)
            {
                loop.Unwatch(peer.Fd);
            }

            return;
        }

        _peerFilled += n;
        Span<byte> ack = stackalloc byte[20];
        while (_peerFilled >= 12)
        {
            var size = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(_peerBuffer.AsSpan(8)), 4000u);
            if (_peerFilled < 12 + size)
            {
                break;
            }

            var request = BinaryPrimitives.ReadUInt32LittleEndian(_peerBuffer);
            _peerBuffer.AsSpan(12 + size, _peerFilled - 12 - size).CopyTo(_peerBuffer);
            _peerFilled -= 12 + size;
            BinaryPrimitives.WriteUInt32LittleEndian(ack, request);
            BinaryPrimitives.WriteUInt32LittleEndian(ack[4..], 0x5);
            BinaryPrimitives.WriteUInt32LittleEndian(ack[8..], 8);
            BinaryPrimitives.WriteUInt64LittleEndian(ack[12..], 0);
            try
            {
                _ = peer.TrySend(_ackScripts.TryDequeue(out var script) ? script : ack);
            }
            catch (NativeException)
            {
                // The backend gave the channel up and closed it: nothing more to answer.
            }
        }

        foreach (var fd in _peerFds)
        {
            fd.Dispose();
        }

        _peerFds.Clear();
    }

    private DeviceQueue Start(GuestRing ring)
    {
        var split = SplitQueue.TryCreate(_memory, ring.Size, new VirtqueueAddresses(UserBase + ring.Desc, UserBase + ring.Avail, UserBase + ring.Used),
            0, eventIdx: true, indirect: true, out var error) ?? throw new InvalidOperationException(error);
        return new DeviceQueue(ring == _commands ? 0 : 1, split, new VringState());
    }

    private void LayOut(ReadOnlySpan<byte> input)
    {
        var ram = _ram.BaseAddress;
        var r = new ByteReader(input);
        ulong readCursor = CommandArea, writeCursor = ResponseArea, indirectCursor = IndirectArea;
        _placed.Clear();
        _ackScripts.Clear();
        Span<(ulong, uint, bool)> segments = stackalloc (ulong, uint, bool)[4];
        for (var n = 0; n < MaxCommands && !r.IsEmpty; n++)
        {
            var ctl = r.U8();
            var readLength = r.U32();
            var writeLength = (uint)r.U16();
            var offset = input.Length - r.Remaining;
            if ((ctl & 16) != 0)
            {
                _ackScripts.Enqueue(r.Bytes((int)Math.Min(readLength, 256)).ToArray());
                continue;
            }

            var data = r.Bytes((int)Math.Min(readLength, CommandAreaEnd - readCursor));
            writeLength = (uint)Math.Min(writeLength, ResponseAreaEnd - writeCursor);

            var count = 0;
            if (!data.IsEmpty)
            {
                data.CopyTo(new Span<byte>(ram + readCursor, data.Length));
                _placed.Add((readCursor, offset, data.Length));
                var first = (ctl & 1) != 0 && data.Length >= 2 ? (uint)data.Length / 2 : (uint)data.Length;
                segments[count++] = (readCursor, first, false);
                if (first < (uint)data.Length)
                {
                    segments[count++] = (readCursor + first, (uint)data.Length - first, false);
                }

                readCursor = (readCursor + (ulong)data.Length + 15) & ~15UL;
            }

            if (writeLength > 0)
            {
                var first = (ctl & 8) != 0 && writeLength >= 2 ? writeLength / 2 : writeLength;
                segments[count++] = (writeCursor, first, true);
                if (first < writeLength)
                {
                    segments[count++] = (writeCursor + first, writeLength - first, true);
                }

                writeCursor = (writeCursor + writeLength + 15) & ~15UL;
            }

            if (count == 0)
            {
                continue;
            }

            if ((ctl & 2) != 0 && indirectCursor + 64 <= IndirectAreaEnd)
            {
                for (var i = 0; i < count; i++)
                {
                    var (gpa, length, writable) = segments[i];
                    GuestRing.Descriptor(ram, indirectCursor, i, gpa, length, (ushort)((i < count - 1 ? 1 : 0) | (writable ? 2 : 0)), (ushort)(i + 1));
                }

                if (_commands.AddIndirect(indirectCursor, count) < 0)
                {
                    break;
                }

                indirectCursor += 64;
            }
            else if (_commands.AddChain(segments[..count]) < 0)
            {
                break;
            }
        }

        _dirtyCommands = readCursor;
        _dirtyResponses = writeCursor;
        _dirtyIndirect = indirectCursor;
    }

    public IEnumerable<(string Name, byte[] Data)> Seeds() => MediaSeeds.All();

    public void Dispose()
    {
        _memory.Dispose();
        _ram.Dispose();
        _fd.Dispose();
    }
}

/// <summary>Valid command sequences for every command and every allowlisted ioctl, encoded by the guest-side builder.</summary>
internal static class MediaSeeds
{
    public static IEnumerable<(string Name, byte[] Data)> All()
    {
        var format = StableMenu.Default.DefaultFormat;
        yield return ("open-close", new Program().Open().Close(1).Build());
        yield return ("open-limit", Repeat(new Program(), 258, p => p.Open()).Close(7).Open().Build());
        yield return ("mmap-munmap", new Program().Open()
            .Raw(0, MediaRequests.Bytes(new VirtioMediaMmapCommand { Header = Header(VirtioMediaWire.CmdMmap), SessionId = 1, Flags = 1 }),
                MediaRequests.SizeOf<VirtioMediaMmapResponse>())
            .Raw(0, MediaRequests.Bytes(new VirtioMediaMunmapCommand { Header = Header(VirtioMediaWire.CmdMunmap) }),
                MediaRequests.SizeOf<VirtioMediaResponseHeader>())
            .Build());
        yield return ("mmap-buffers", MmapSession(new Program()).Build());
        yield return ("mmap-hostile-acks", MmapSession(new Program()
            .Script([0x09, 0, 0, 0, 0x05, 0, 0, 0, 0x08, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]) // a refusal
            .Script([0x0A, 0, 0, 0, 0x05, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) // the wrong request
            .Script([0x09, 0, 0])) // a partial ack: the request times out
            .Build());
        yield return ("unknown-ioctl", new Program().Open()
            .Ioctl(1, V4l2IoctlNumber.QueryCap /* not allowlisted */, new byte[104], 104).Build());

        foreach (var (number, payload) in IoctlPayloads(format))
        {
            var p = new Program().Open();
            if (number is V4l2IoctlNumber.QueryBuf or V4l2IoctlNumber.QBuf or V4l2IoctlNumber.PrepareBuf or V4l2IoctlNumber.StreamOn)
            {
                p.Ioctl(1, V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(2));
            }

            p.Ioctl(1, number, payload);
            yield return ($"ioctl-{number}".ToLowerInvariant(), p.Build());
        }

        // A whole capture session: format, buffers (two SG entries each), stream on and off, free, close.
        var stream = new Program().Open()
            .Ioctl(1, V4l2IoctlNumber.SFmt, MediaRequests.Format(format.Width, format.Height, format.PixelFormat))
            .Ioctl(1, V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(4));
        for (var i = 0u; i < 4; i++)
        {
            stream.Ioctl(1, V4l2IoctlNumber.QBuf, Buffer(i, format.SizeImage, MediaTarget.BufferArea + (i * 0x100000), split: true));
        }

        stream.Ioctl(1, V4l2IoctlNumber.QueryBuf, MediaRequests.Buffer(0, 0, 0))
            .Ioctl(1, V4l2IoctlNumber.StreamOn, MediaRequests.Word(MediaRequests.Capture))
            .Ioctl(1, V4l2IoctlNumber.StreamOff, MediaRequests.Word(MediaRequests.Capture))
            .Ioctl(1, V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(0))
            .Close(1);
        yield return ("capture-session", stream.Build());

        // Split and indirect descriptors, and a second session refused the queue (EBUSY).
        yield return ("split-indirect-busy", new Program().Open(ctl: 2).Open(ctl: 1 | 8)
            .Ioctl(1, V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(2), ctl: 1)
            .Ioctl(2, V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(2), ctl: 2 | 8)
            .Ioctl(2, V4l2IoctlNumber.GFmt, MediaRequests.Bytes(new V4l2Format { Type = MediaRequests.Capture }), ctl: 2).Build());
    }

    private static IEnumerable<(V4l2IoctlNumber, byte[])> IoctlPayloads(FrameFormat f)
    {
        yield return (V4l2IoctlNumber.EnumFmt, MediaRequests.FmtDesc(0));
        yield return (V4l2IoctlNumber.GFmt, MediaRequests.Bytes(new V4l2Format { Type = MediaRequests.Capture }));
        yield return (V4l2IoctlNumber.SFmt, MediaRequests.Format(1280, 720, PixelFormats.Nv12));
        yield return (V4l2IoctlNumber.TryFmt, MediaRequests.Format(f.Width, f.Height, f.PixelFormat));
        yield return (V4l2IoctlNumber.EnumFrameSizes, MediaRequests.FrmSizeEnum(1, PixelFormats.Yuyv));
        yield return (V4l2IoctlNumber.EnumFrameIntervals, MediaRequests.FrmIvalEnum(0, PixelFormats.Yuyv, 640, 480));
        yield return (V4l2IoctlNumber.GParm, MediaRequests.Bytes(new V4l2StreamParm { Type = MediaRequests.Capture }));
        yield return (V4l2IoctlNumber.SParm, MediaRequests.StreamParm(1, 15));
        yield return (V4l2IoctlNumber.EnumInput, MediaRequests.Input(0));
        yield return (V4l2IoctlNumber.GInput, MediaRequests.Word(0));
        yield return (V4l2IoctlNumber.SInput, MediaRequests.Word(0));
        yield return (V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(4));
        yield return (V4l2IoctlNumber.CreateBufs, MediaRequests.CreateBuffers(2, MediaRequests.FormatOf(f.Width, f.Height, f.PixelFormat, sizeImage: f.SizeImage)));
        yield return (V4l2IoctlNumber.QueryBuf, MediaRequests.Buffer(1, 0, 0));
        yield return (V4l2IoctlNumber.PrepareBuf, Buffer(0, f.SizeImage, MediaTarget.BufferArea, split: false));
        yield return (V4l2IoctlNumber.QBuf, Buffer(1, f.SizeImage, MediaTarget.BufferArea + 0x200000, split: true));
        yield return (V4l2IoctlNumber.StreamOn, MediaRequests.Word(MediaRequests.Capture));
        yield return (V4l2IoctlNumber.StreamOff, MediaRequests.Word(MediaRequests.Capture));
    }

    /// <summary>A USERPTR v4l2_buffer followed by its SG list (one or two entries) covering [gpa, +length).</summary>
    private static byte[] Buffer(uint index, uint length, ulong gpa, bool split)
    {
        var first = length / 2 & ~0xFFFu;
        var sg = split ? MediaRequests.SgList((gpa, first), (gpa + first + 0x1000, length - first)) : MediaRequests.SgList((gpa, length));
        return [.. MediaRequests.Buffer(index, 0x7fff_0000_0000 + gpa, length), .. sg];
    }

    /// <summary>MMAP buffers end to end: REQBUFS(MMAP), QUERYBUF, two maps, QBUF, stream on and off, unmaps, free, close.</summary>
    private static Program MmapSession(Program p)
    {
        var mmapAnswer = MediaRequests.SizeOf<VirtioMediaMmapResponse>();
        var header = MediaRequests.SizeOf<VirtioMediaResponseHeader>();
        p.Open()
            .Ioctl(1, V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(2, V4l2.MemoryMmap))
            .Ioctl(1, V4l2IoctlNumber.QueryBuf, MediaRequests.Buffer(1, 0, 0, memory: V4l2.MemoryMmap))
            .Raw(0, MediaRequests.Mmap(1, 0), mmapAnswer)
            .Raw(0, MediaRequests.Mmap(1, 1u << 26, writable: false), mmapAnswer)
            .Ioctl(1, V4l2IoctlNumber.QBuf, MediaRequests.Buffer(0, 0, 0, memory: V4l2.MemoryMmap))
            .Ioctl(1, V4l2IoctlNumber.StreamOn, MediaRequests.Word(MediaRequests.Capture))
            .Ioctl(1, V4l2IoctlNumber.StreamOff, MediaRequests.Word(MediaRequests.Capture))
            .Raw(0, MediaRequests.Munmap(0), header)
            .Ioctl(1, V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(0, V4l2.MemoryMmap))
            .Raw(0, MediaRequests.Munmap(0xA0000), header)
            .Close(1);
        return p;
    }

    private static VirtioMediaCommandHeader Header(uint command) => new() { Command = command };

    private static Program Repeat(Program p, int times, Func<Program, Program> step)
    {
        for (var i = 0; i < times; i++)
        {
            p = step(p);
        }

        return p;
    }

    /// <summary>The target's input format: ctl, u32 readable length, u16 writable length, readable bytes.</summary>
    private sealed class Program
    {
        private readonly ByteWriter _w = new();

        public Program Raw(int ctl, byte[] readable, int writable)
        {
            _w.U8(ctl).U32((uint)readable.Length).U16(writable).Bytes(readable);
            return this;
        }

        /// <summary>Bytes the VMM writes on the backend channel for the next request instead of its ack.</summary>
        public Program Script(byte[] bytes) => Raw(16, bytes, 0);

        public Program Open(int ctl = 0) => Raw(ctl, MediaRequests.Open(), MediaRequests.SizeOf<VirtioMediaOpenResponse>());

        public Program Close(uint session) => Raw(0, MediaRequests.Close(session), 0);

        /// <summary>An ioctl with room for its answer: the response header and as many bytes as the request struct.</summary>
        public Program Ioctl(uint session, V4l2IoctlNumber number, byte[] payload, int ctl = 0) =>
            Ioctl(session, number, payload, AnswerSize(number, payload), ctl);

        public Program Ioctl(uint session, V4l2IoctlNumber number, byte[] payload, int output, int ctl = 0) =>
            Raw(ctl, MediaRequests.Ioctl(session, number, payload), MediaRequests.SizeOf<VirtioMediaResponseHeader>() + output);

        public byte[] Build() => _w.ToArray();

        private static int AnswerSize(V4l2IoctlNumber number, byte[] payload) => number switch
        {
            V4l2IoctlNumber.StreamOn or V4l2IoctlNumber.StreamOff => 0,
            V4l2IoctlNumber.QBuf or V4l2IoctlNumber.PrepareBuf => MediaRequests.SizeOf<V4l2Buffer>(),
            _ => payload.Length,
        };
    }
}
