using System.Buffers.Binary;
using Spectrum.Camera.Native;

namespace Spectrum.Camera.TestFrontend;

/// <summary>
/// The driver side of one split virtqueue, laid out in <see cref="GuestRam"/> like a Linux guest would: descriptor
/// table, avail ring (with used_event) and used ring (with avail_event). Tests add chains, kick, and read completions;
/// malicious tests write raw descriptors and ring entries.
/// </summary>
public sealed class GuestVirtqueue : IDisposable
{
    public const ushort FlagNext = 1, FlagWrite = 2, FlagIndirect = 4;

    private readonly GuestRam _ram;
    private readonly Stack<ushort> _free = new();
    private readonly Epoll _callWait = Epoll.Create();
    private ushort _availIdx;
    private ushort _lastUsed;

    public GuestVirtqueue(GuestRam ram, ushort size)
    {
        ArgumentNullException.ThrowIfNull(ram);
        _ram = ram;
        Size = size;
        DescGpa = ram.Allocate(16UL * size, 4096);
        AvailGpa = ram.Allocate(6UL + (2UL * size), 2);
        UsedGpa = ram.Allocate(6UL + (8UL * size), 4096);
        for (var i = size - 1; i >= 0; i--)
        {
            _free.Push((ushort)i);
        }

        Kick = EventFd.Create(1); // QEMU creates the kick eventfd already signalled.
        Call = EventFd.Create();
        Err = EventFd.Create();
        _callWait.Add(Call.Fd, 1);
    }

    public ushort Size { get; }

    public ulong DescGpa { get; }

    public ulong AvailGpa { get; }

    public ulong UsedGpa { get; }

    public EventFd Kick { get; private set; }

    public EventFd Call { get; }

    public EventFd Err { get; }

    /// <summary>Avail index the guest has published.</summary>
    public ushort AvailIndex => _availIdx;

    public int FreeDescriptors => _free.Count;

    /// <summary>Writes descriptor <paramref name="index"/> verbatim (malicious tests use any values).</summary>
    public void WriteDescriptor(ushort index, ulong addr, uint len, ushort flags, ushort next)
    {
        var d = _ram.Span(DescGpa + (16UL * (ulong)index), 16);
        BinaryPrimitives.WriteUInt64LittleEndian(d, addr);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], len);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
    }

    /// <summary>The buffer address in descriptor <paramref name="index"/> (the guest's own table).</summary>
    public ulong DescriptorAddress(ushort index) => BinaryPrimitives.ReadUInt64LittleEndian(_ram.Span(DescGpa + (16UL * index), 8));

    /// <summary>Puts <paramref name="head"/> in the next avail slot and publishes the new index.</summary>
    public void PublishHead(ushort head)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(_ram.Span(AvailGpa + 4 + (2UL * (ulong)(_availIdx % Size)), 2), head);
        _availIdx++;
        Interlocked.MemoryBarrier();
        SetAvailIndex(_availIdx);
    }

    /// <summary>Overwrites avail->idx (malicious tests make it jump).</summary>
    public void SetAvailIndex(ushort value)
    {
        _availIdx = value;
        BinaryPrimitives.WriteUInt16LittleEndian(_ram.Span(AvailGpa + 2, 2), value);
    }

    /// <summary>
    /// Builds a chain from buffers in guest RAM: readable ones first, then writable ones, as a Linux driver does,
    /// publishes it and returns its head. Buffers are (gpa, length) pairs.
    /// </summary>
    public ushort AddChain(IReadOnlyList<(ulong Gpa, uint Length)> readable, IReadOnlyList<(ulong Gpa, uint Length)> writable, bool publish = true)
    {
        ArgumentNullException.ThrowIfNull(readable);
        ArgumentNullException.ThrowIfNull(writable);
        var total = readable.Count + writable.Count;
        if (total == 0 || total > _free.Count)
        {
            throw new InvalidOperationException($"chain of {total} descriptors does not fit ({_free.Count} free)");
        }

        var indices = new ushort[total];
        for (var i = 0; i < total; i++)
        {
            indices[i] = _free.Pop();
        }

        for (var i = 0; i < total; i++)
        {
            var isWritable = i >= readable.Count;
            var (gpa, len) = isWritable ? writable[i - readable.Count] : readable[i];
            var flags = (ushort)((isWritable ? FlagWrite : 0) | (i + 1 < total ? FlagNext : 0));
            WriteDescriptor(indices[i], gpa, len, flags, i + 1 < total ? indices[i + 1] : (ushort)0);
        }

        _chainLengths[indices[0]] = indices;
        if (publish)
        {
            PublishHead(indices[0]);
        }

        return indices[0];
    }

    private readonly Dictionary<ushort, ushort[]> _chainLengths = [];

    /// <summary>Signals the kick eventfd.</summary>
    public void Notify() => Kick.Signal();

    /// <summary>Replaces the kick eventfd (a new driver start sends a new one).</summary>
    public EventFd RenewKick()
    {
        Kick.Dispose();
        Kick = EventFd.Create(1);
        return Kick;
    }

    /// <summary>used->idx as the device last published it.</summary>
    public ushort UsedIndex => BinaryPrimitives.ReadUInt16LittleEndian(_ram.Span(UsedGpa + 2, 2));

    /// <summary>Sets avail->used_event (EVENT_IDX: interrupt me when used idx passes this).</summary>
    public void SetUsedEvent(ushort value) =>
        BinaryPrimitives.WriteUInt16LittleEndian(_ram.Span(AvailGpa + 4 + (2UL * Size), 2), value);

    /// <summary>Reads used->avail_event (EVENT_IDX: the device wants a kick when avail idx passes this).</summary>
    public ushort AvailEvent => BinaryPrimitives.ReadUInt16LittleEndian(_ram.Span(UsedGpa + 4 + (8UL * Size), 2));

    /// <summary>Takes the next used element if there is one; frees its descriptors.</summary>
    public bool TryTakeUsed(out ushort head, out uint length)
    {
        Interlocked.MemoryBarrier();
        if (UsedIndex == _lastUsed)
        {
            head = 0;
            length = 0;
            return false;
        }

        var e = _ram.Span(UsedGpa + 4 + (8UL * (ulong)(_lastUsed % Size)), 8);
        head = (ushort)BinaryPrimitives.ReadUInt32LittleEndian(e);
        length = BinaryPrimitives.ReadUInt32LittleEndian(e[4..]);
        _lastUsed++;
        if (_chainLengths.Remove(head, out var indices))
        {
            foreach (var i in indices)
            {
                _free.Push(i);
            }
        }

        return true;
    }

    /// <summary>Waits for the call eventfd (an interrupt) up to <paramref name="timeout"/>; true if it fired.</summary>
    public bool WaitForCall(TimeSpan timeout)
    {
        Span<ulong> ready = stackalloc ulong[1];
        if (_callWait.Wait(ready, (int)timeout.TotalMilliseconds) == 0)
        {
            return false;
        }

        Call.Consume();
        return true;
    }

    /// <summary>Waits until a used element is available (polling the ring and the call fd) and takes it.</summary>
    public (ushort Head, uint Length) WaitUsed(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (TryTakeUsed(out var head, out var length))
            {
                return (head, length);
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException("no used buffer from the device");
            }

            WaitForCall(left < TimeSpan.FromMilliseconds(50) ? left : TimeSpan.FromMilliseconds(50));
        }
    }

    /// <summary>Forgets ring progress (a new driver instance after reset).</summary>
    public void ResetDriverState()
    {
        _availIdx = 0;
        _lastUsed = 0;
        _chainLengths.Clear();
        _free.Clear();
        for (var i = Size - 1; i >= 0; i--)
        {
            _free.Push((ushort)i);
        }

        _ram.Span(AvailGpa, 6 + (2 * Size)).Clear();
        _ram.Span(UsedGpa, 6 + (8 * Size)).Clear();
    }

    public void Dispose()
    {
        _callWait.Dispose();
        Kick.Dispose();
        Call.Dispose();
        Err.Dispose();
    }
}
