using System.Buffers.Binary;
using Spectrum.Camera.Native;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Fuzz.Targets;

/// <summary>
/// Descriptor chains: the input is a ring description plus a guest memory image. The real <see cref="SplitQueue"/>
/// (ring rules) and DescriptorChainWalker (chain rules) validate it on pop; the target then uses every chain the way
/// devices do (copy the readable part, write into the writable part, complete) and checks that whatever was accepted
/// really lies in guest RAM and that completions stay within the writable length.
/// </summary>
/// <remarks>
/// Input: u8 size_log (queue size 2^(v mod 11)), u8 flags (1 EVENT_IDX, 2 INDIRECT_DESC, 4 rebind after the first pop,
/// 8 complete held chains newest first, 16 hold every chain until the end, 32 memory is region A only), u16 base
/// (last avail index), u16 desc / avail / used gpa (in region A), u16 bytes to write per chain, u16 pop budget,
/// u16 reserved, then the memory image: region A (gpa 0, 64 KiB), then region B (gpa 0x20000, 64 KiB). 0x10000-0x20000
/// is a hole, as QEMU leaves 640K-768K.
/// </remarks>
public sealed unsafe class ChainTarget : IFuzzTarget, IDisposable
{
    public const ulong RegionSize = 0x10000;
    public const ulong RegionBGpa = 0x20000;
    public const ulong UserBase = 0x7f00_0000_0000;

    private readonly FdHandle _fd;
    private readonly MappedMemory _image;
    private readonly GuestMemory _both;
    private readonly GuestMemory _aOnly;
    private readonly GuestMemoryRegion _a;
    private readonly GuestMemoryRegion _b;
    private readonly byte[] _readable = new byte[64 * 1024];
    private readonly byte[] _fill = new byte[4096];
    private readonly GuestRangeWriter _writer = new();
    private readonly List<DescriptorChain> _held = [];

    public ChainTarget()
    {
        _fd = MemFd.Create("fuzz-chain-ram", RegionBGpa + RegionSize);
        _image = MappedMemory.MapShared(_fd, RegionBGpa + RegionSize);
        _a = GuestMemoryRegion.Map(0, RegionSize, UserBase, 0, _fd);
        _b = GuestMemoryRegion.Map(RegionBGpa, RegionSize, UserBase + RegionBGpa, RegionBGpa, _fd);
        _both = new GuestMemory([_a, _b]);
        _aOnly = new GuestMemory([_a]);
        Array.Fill(_fill, (byte)0xA5);
    }

    public string Name => "chains";

    public void Run(ReadOnlySpan<byte> input)
    {
        var r = new ByteReader(input);
        var size = 1u << (r.U8() % 11);
        var flags = r.U8();
        var lastAvail = r.U16();
        var desc = r.U16();
        var avail = r.U16();
        var used = r.U16();
        var writeBytes = r.U16();
        var budget = Math.Min((int)r.U16(), 4096);
        r.U16();

        // Region A then region B from the image; the rest of memory is zero.
        var image = new Span<byte>(_image.BaseAddress, (int)(RegionBGpa + RegionSize));
        image.Clear();
        var a = r.Bytes((int)RegionSize);
        a.CopyTo(image);
        r.Bytes(r.Remaining).CopyTo(image[(int)RegionBGpa..]);

        var memory = (flags & 32) != 0 ? _aOnly : _both;
        var addresses = new VirtqueueAddresses(UserBase + desc, UserBase + avail, UserBase + used);
        var queue = SplitQueue.TryCreate(memory, size, addresses, lastAvail, (flags & 1) != 0, (flags & 2) != 0, out _);
        if (queue is null)
        {
            return;
        }

        _held.Clear();
        for (var i = 0; i < budget; i++)
        {
            var result = queue.TryPop(out var chain);
            if (result != QueuePopResult.Chain)
            {
                if (result == QueuePopResult.Broken && queue.Violation is null)
                {
                    throw new InvariantViolationException("Broken without a violation");
                }

                break;
            }

            Use(queue, chain!, writeBytes);
            if ((flags & 16) != 0)
            {
                _held.Add(chain!);
            }
            else
            {
                queue.Complete(chain!, (uint)_writer.Written);
            }

            if (i == 0 && (flags & 4) != 0)
            {
                // A memory-table change while chains are held: the held ranges are re-translated at each access.
                queue.TryRebind(memory == _both ? _aOnly : _both, addresses, out _);
            }
        }

        queue.ShouldNotify();
        queue.EnableNotification();
        if ((flags & 8) != 0)
        {
            _held.Reverse();
        }

        foreach (var chain in _held)
        {
            chain.OpenWritable(queue.Memory, _writer);
            _writer.Write(_fill.AsSpan(0, (int)Math.Min(chain.WritableLength, 16u)));
            queue.Complete(chain, (uint)_writer.Written);
        }

        queue.ShouldNotify();
    }

    private void Use(SplitQueue queue, DescriptorChain chain, int writeBytes)
    {
        ulong readable = 0, writable = 0;
        var segments = chain.Segments;
        for (var i = 0; i < segments.Length; i++)
        {
            var s = segments[i];
            if (s.Length == 0 || !queue.Memory.Contains(s.Address, s.Length))
            {
                throw new InvariantViolationException($"accepted segment [0x{s.Address:x}, +{s.Length}) is not guest RAM");
            }

            if (i < chain.ReadableCount)
            {
                readable += s.Length;
            }
            else
            {
                writable += s.Length;
            }
        }

        if (readable != chain.ReadableLength || writable != chain.WritableLength || readable + writable > uint.MaxValue)
        {
            throw new InvariantViolationException($"chain lengths {chain.ReadableLength}/{chain.WritableLength} do not add up ({readable}/{writable})");
        }

        var copied = chain.CopyReadable(queue.Memory, _readable);
        if (copied != (int)Math.Min(chain.ReadableLength, (uint)_readable.Length))
        {
            throw new InvariantViolationException($"copied {copied} of {chain.ReadableLength} readable bytes");
        }

        chain.OpenWritable(queue.Memory, _writer);
        var left = Math.Min(writeBytes, (int)Math.Min(chain.WritableLength, 1u << 20));
        while (left > 0 && _writer.Write(_fill.AsSpan(0, Math.Min(left, _fill.Length))))
        {
            left -= Math.Min(left, _fill.Length);
        }

        if (_writer.Written > chain.WritableLength)
        {
            throw new InvariantViolationException($"wrote {_writer.Written} bytes into {chain.WritableLength} writable");
        }
    }

    public IEnumerable<(string Name, byte[] Data)> Seeds()
    {
        // Two chains on an 8-entry ring: readable then writable, and a three-segment one.
        var simple = new Image(size: 8, desc: 0x0, avail: 0x80, used: 0x100);
        simple.Descriptor(0, 0x1000, 64, Next, 1).Descriptor(1, 0x2000, 128, Write, 0);
        simple.Descriptor(2, 0x3000, 16, Next, 3).Descriptor(3, 0x3010, 16, Next, 4).Descriptor(4, 0x4000, 32, Write, 0);
        simple.Avail(0, 2);
        yield return ("two-chains", simple.Build(flags: 0, writeBytes: 96, budget: 8));

        // An indirect chain (readable, readable, writable) in region B.
        var indirect = new Image(size: 16, desc: 0x0, avail: 0x100, used: 0x200);
        indirect.Descriptor(0, 0x3000, 48, Indirect, 0);
        indirect.Entry(0x3000, 0, RegionBGpa + 0x100, 32, Next, 1).Entry(0x3000, 1, RegionBGpa + 0x200, 32, Next, 2)
            .Entry(0x3000, 2, RegionBGpa + 0x300, 64, Write, 0);
        indirect.Avail(0);
        yield return ("indirect", indirect.Build(flags: 2, writeBytes: 64, budget: 4));

        // EVENT_IDX with used_event set, chains held and completed out of order.
        var eventIdx = new Image(size: 4, desc: 0x0, avail: 0x40, used: 0x80);
        for (var i = 0; i < 4; i++)
        {
            eventIdx.Descriptor(i, 0x1000 + (ulong)(i * 0x100), 16, Write, 0);
        }

        eventIdx.Avail(3, 1, 0, 2).UsedEvent(2);
        yield return ("event-idx-held", eventIdx.Build(flags: 1 | 8 | 16, writeBytes: 16, budget: 8));

        // A base near the 16-bit wrap on a 256-entry ring.
        var wrap = new Image(size: 256, desc: 0x0, avail: 0x1000, used: 0x1400, lastAvail: 0xFFFE);
        wrap.Descriptor(0, 0x4000, 8, 0, 0).Descriptor(1, 0x5000, 8, Write, 0);
        wrap.Avail(0, 1);
        yield return ("wrap", wrap.Build(flags: 4, writeBytes: 8, budget: 4));
    }

    private const int Next = 1, Write = 2, Indirect = 4;

    /// <summary>A seed: header plus a region-A image with the rings and tables in place.</summary>
    private sealed class Image(int size, int desc, int avail, int used, int lastAvail = 0)
    {
        private readonly byte[] _a = new byte[0x6000];
        private ushort _availIndex = (ushort)lastAvail;

        public Image Descriptor(int index, ulong addr, uint len, int flags, int next) => Entry((ulong)desc, index, addr, len, flags, next);

        public Image Entry(ulong table, int index, ulong addr, uint len, int flags, int next)
        {
            var d = _a.AsSpan((int)table + (16 * index), 16);
            BinaryPrimitives.WriteUInt64LittleEndian(d, addr);
            BinaryPrimitives.WriteUInt32LittleEndian(d[8..], len);
            BinaryPrimitives.WriteUInt16LittleEndian(d[12..], (ushort)flags);
            BinaryPrimitives.WriteUInt16LittleEndian(d[14..], (ushort)next);
            return this;
        }

        public Image Avail(params int[] heads)
        {
            foreach (var head in heads)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(_a.AsSpan(avail + 4 + (2 * (_availIndex % size))), (ushort)head);
                _availIndex++;
            }

            BinaryPrimitives.WriteUInt16LittleEndian(_a.AsSpan(avail + 2), _availIndex);
            return this;
        }

        public Image UsedEvent(int value)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(_a.AsSpan(avail + 4 + (2 * size)), (ushort)value);
            return this;
        }

        public byte[] Build(int flags, int writeBytes, int budget)
        {
            var w = new ByteWriter().U8(int.Log2(size)).U8(flags).U16(lastAvail).U16(desc).U16(avail).U16(used)
                .U16(writeBytes).U16(budget).U16(0);
            // Trailing zeros of the image are implied (memory is cleared before each run).
            var end = _a.Length;
            while (end > 0 && _a[end - 1] == 0)
            {
                end--;
            }

            return w.Bytes(_a.AsSpan(0, end)).ToArray();
        }
    }

    public void Dispose()
    {
        _both.Dispose();
        _image.Dispose();
        _fd.Dispose();
    }
}
