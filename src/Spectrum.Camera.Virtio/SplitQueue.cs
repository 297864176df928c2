namespace Spectrum.Camera.Virtio;

/// <summary>
/// A running split virtqueue (VirtIO 1.x §2.7) on the device side. Ring-level rules live here (size, ring placement
/// and alignment, avail index movement, head range, in-flight accounting); chain rules live in
/// <see cref="DescriptorChainWalker"/>. A violation stops the queue: every later call is a no-op until the driver
/// restarts it, and <see cref="Violation"/> says why in one line. Not thread-safe: the device loop owns it.
/// </summary>
public sealed unsafe class SplitQueue
{
    /// <summary>Largest queue we accept; QEMU aborts above 1024 (VIRTQUEUE_MAX_SIZE).</summary>
    public const int MaxSize = 1024;

    private readonly DescriptorChain?[] _chains;
    private byte* _descriptors;
    private byte* _avail;
    private byte* _used;
    private GuestMemory _memory;
    private ushort _lastAvail;
    private ushort _nextUsed;
    private ushort _usedAtLastNotify;
    private int _inFlight;

    private SplitQueue(GuestMemory memory, ushort size, byte* descriptors, byte* avail, byte* used, ushort lastAvail, bool eventIdx, bool indirect)
    {
        _memory = memory;
        Size = size;
        _descriptors = descriptors;
        _avail = avail;
        _used = used;
        _lastAvail = lastAvail;
        EventIdx = eventIdx;
        IndirectDescriptors = indirect;
        _chains = new DescriptorChain?[size];
        _nextUsed = Volatile.Read(ref *(ushort*)(used + 2));
        _usedAtLastNotify = _nextUsed;
    }

    public ushort Size { get; }

    public bool EventIdx { get; }

    public bool IndirectDescriptors { get; }

    /// <summary>The index of the next avail entry not yet consumed (what GET_VRING_BASE returns).</summary>
    public ushort LastAvailIndex => _lastAvail;

    /// <summary>Chains popped and not yet completed.</summary>
    public int InFlight => _inFlight;

    /// <summary>Why the queue stopped, or null while it is healthy.</summary>
    public string? Violation { get; private set; }

    public GuestMemory Memory => _memory;

    /// <summary>
    /// Validates the ring description and builds the queue. Ring addresses are VMM user addresses; each ring must lie
    /// in one region and be aligned (desc 16, avail 2, used 4). Returns null and sets <paramref name="error"/> if not.
    /// </summary>
    public static SplitQueue? TryCreate(GuestMemory memory, uint size, VirtqueueAddresses addresses, ushort lastAvail,
        bool eventIdx, bool indirect, out string? error)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (size == 0 || size > MaxSize || (size & (size - 1)) != 0)
        {
            error = $"queue size {size} is not a power of two in 1..{MaxSize}";
            return null;
        }

        var desc = memory.TryTranslateUser(addresses.DescriptorTable, 16UL * size, out var descGpa);
        var avail = memory.TryTranslateUser(addresses.AvailRing, 6UL + (2UL * size), out var availGpa);
        var used = memory.TryTranslateUser(addresses.UsedRing, 6UL + (8UL * size), out var usedGpa);
        if (desc == null || avail == null || used == null)
        {
            error = $"ring addresses desc 0x{addresses.DescriptorTable:x} avail 0x{addresses.AvailRing:x} used 0x{addresses.UsedRing:x} " +
                    $"for size {size} are not in guest RAM";
            return null;
        }

        if (descGpa % 16 != 0 || availGpa % 2 != 0 || usedGpa % 4 != 0)
        {
            error = $"rings are misaligned (desc gpa 0x{descGpa:x}, avail 0x{availGpa:x}, used 0x{usedGpa:x})";
            return null;
        }

        error = null;
        return new SplitQueue(memory, (ushort)size, desc, avail, used, lastAvail, eventIdx, indirect);
    }

    /// <summary>
    /// Switches to a new memory map (SET_MEM_TABLE while running): re-translates the rings and keeps indices and
    /// in-flight chains (their segments are guest-physical and are translated at each access).
    /// </summary>
    public bool TryRebind(GuestMemory memory, VirtqueueAddresses addresses, out string? error)
    {
        ArgumentNullException.ThrowIfNull(memory);
        var fresh = TryCreate(memory, Size, addresses, _lastAvail, EventIdx, IndirectDescriptors, out error);
        if (fresh is null)
        {
            Fail("after a memory table change: " + error);
            return false;
        }

        _memory = memory;
        _descriptors = fresh._descriptors;
        _avail = fresh._avail;
        _used = fresh._used;
        return true;
    }

    /// <summary>
    /// Takes over the chains <paramref name="previous"/> still had in flight when it stopped. Used when a ring
    /// continues after a VM stop/cont (same rings, the base we returned): the driver still owns those buffers through
    /// us, so a device that holds them (for example event buffers) must be able to complete them on the new queue.
    /// </summary>
    public void AdoptInFlight(SplitQueue previous)
    {
        ArgumentNullException.ThrowIfNull(previous);
        if (previous.Size != Size || _inFlight != 0)
        {
            throw new InvalidOperationException("in-flight chains can only move to a fresh queue of the same size");
        }

        for (var head = 0; head < Size; head++)
        {
            if (previous._chains[head] is { InFlight: true } chain)
            {
                _chains[head] = chain;
                _inFlight++;
            }
        }
    }

    /// <summary>True when the driver has made chains available that we have not taken.</summary>
    public bool HasAvailable => Violation is null && AvailIndex() != _lastAvail;

    /// <summary>Takes the next chain. The chain stays valid until <see cref="Complete"/> returns it.</summary>
    public QueuePopResult TryPop(out DescriptorChain? chain)
    {
        chain = null;
        if (Violation is not null)
        {
            return QueuePopResult.Broken;
        }

        var availIdx = AvailIndex();
        var pending = (ushort)(availIdx - _lastAvail);
        if (pending == 0)
        {
            return QueuePopResult.Empty;
        }

        if (pending > Size)
        {
            return Fail($"avail index moved from {_lastAvail} to {availIdx}, more than the queue size {Size}");
        }

        var head = Volatile.Read(ref *(ushort*)(_avail + 4 + (2 * (_lastAvail % Size))));
        if (head >= Size)
        {
            return Fail($"avail ring entry {_lastAvail} names head {head}, outside the queue of {Size}");
        }

        var candidate = _chains[head] ??= new DescriptorChain(head);
        if (candidate.InFlight)
        {
            return Fail($"head {head} was made available again while still in flight");
        }

        if (_inFlight >= Size)
        {
            return Fail($"more than {Size} chains in flight");
        }

        var problem = DescriptorChainWalker.Walk(_memory, _descriptors, Size, head, IndirectDescriptors, candidate);
        if (problem is not null)
        {
            return Fail(problem);
        }

        _lastAvail++;
        candidate.InFlight = true;
        _inFlight++;
        chain = candidate;
        return QueuePopResult.Chain;
    }

    /// <summary>
    /// Returns a chain to the driver through the used ring with <paramref name="written"/> as its used length. The ring
    /// publishes what the device reports; that it wrote that many bytes, and no more than the writable part, is the
    /// device's rule (virtio 1.x §2.7.8), kept where the device writes its answers.
    /// </summary>
    public void Complete(DescriptorChain chain, uint written)
    {
        ArgumentNullException.ThrowIfNull(chain);
        if (!chain.InFlight || _chains[chain.Head] != chain)
        {
            throw new InvalidOperationException($"chain {chain.Head} is not in flight on this queue");
        }

        chain.InFlight = false;
        _inFlight--;
        if (Violation is not null)
        {
            return;
        }

        var element = _used + 4 + (8 * (_nextUsed % Size));
        Volatile.Write(ref *(uint*)element, chain.Head);
        Volatile.Write(ref *(uint*)(element + 4), written);
        _nextUsed++;
        // Release: the element must be visible before the index that publishes it.
        Volatile.Write(ref *(ushort*)(_used + 2), _nextUsed);
    }

    /// <summary>
    /// Decides whether the driver wants an interrupt for what was completed since the last decision
    /// (VirtIO §2.7.10; EVENT_IDX: notify iff used_event lies in (old, new]).
    /// </summary>
    public bool ShouldNotify()
    {
        if (Violation is not null)
        {
            return false;
        }

        // Full fence: our used->idx store must be ordered before the load of used_event/flags.
        Interlocked.MemoryBarrier();
        var newUsed = _nextUsed;
        var oldUsed = _usedAtLastNotify;
        _usedAtLastNotify = newUsed;
        if (EventIdx)
        {
            var usedEvent = Volatile.Read(ref *(ushort*)(_avail + 4 + (2 * Size)));
            return (ushort)(newUsed - usedEvent - 1) < (ushort)(newUsed - oldUsed);
        }

        return newUsed != oldUsed && (Volatile.Read(ref *(ushort*)_avail) & 1) == 0;
    }

    /// <summary>
    /// Re-arms driver kicks after draining (EVENT_IDX: avail_event = last_avail) and reports whether more work
    /// arrived meanwhile, which closes the lost-kick race.
    /// </summary>
    public bool EnableNotification()
    {
        if (Violation is not null)
        {
            return false;
        }

        if (EventIdx)
        {
            Volatile.Write(ref *(ushort*)(_used + 4 + (8 * Size)), _lastAvail);
        }

        Interlocked.MemoryBarrier();
        return AvailIndex() != _lastAvail;
    }

    /// <summary>Stops the queue for a host-detected reason (for example a chain a device cannot use at all).</summary>
    public void Stop(string reason) => Fail(reason);

    private ushort AvailIndex() => Volatile.Read(ref *(ushort*)(_avail + 2));

    private QueuePopResult Fail(string reason)
    {
        Violation ??= reason;
        return QueuePopResult.Broken;
    }
}
