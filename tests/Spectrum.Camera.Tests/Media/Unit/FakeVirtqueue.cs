using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Tests.Media.Unit;

/// <summary>
/// A virtqueue without a ring or a socket, for testing the device's transport: the test offers chains (real
/// <see cref="DescriptorChain"/>s over real guest memory), and the queue records what the transport completes and how
/// often it interrupts the driver.
/// </summary>
internal sealed class FakeVirtqueue(int index, GuestMemory memory) : IVirtqueue
{
    private readonly Queue<DescriptorChain> _available = new();
    private ushort _nextHead;

    public int Index => index;

    public GuestMemory Memory => memory;

    public bool IsBroken => Violation is not null;

    public ushort Size => 1024;

    public string? Violation { get; private set; }

    /// <summary>Every completion in order: the chain's head and the used length.</summary>
    public List<(ushort Head, uint Written)> Completed { get; } = [];

    public int Notifications { get; private set; }

    public int Pending => _available.Count;

    /// <summary>Makes a chain available: readable segments first, then writable ones.</summary>
    public ushort Offer(params (ulong Gpa, uint Length, bool Writable)[] segments)
    {
        var chain = new DescriptorChain(_nextHead++);
        foreach (var (gpa, length, writable) in segments)
        {
            chain.Add(new GuestRange(gpa, length), writable);
        }

        _available.Enqueue(chain);
        return chain.Head;
    }

    public QueuePopResult TryPop(out DescriptorChain? chain)
    {
        chain = null;
        if (IsBroken)
        {
            return QueuePopResult.Broken;
        }

        return _available.TryDequeue(out chain) ? QueuePopResult.Chain : QueuePopResult.Empty;
    }

    public void Complete(DescriptorChain chain, uint written)
    {
        ArgumentNullException.ThrowIfNull(chain);
        Completed.Add((chain.Head, written));
    }

    public void Fail(string reason) => Violation ??= reason;

    public void NotifyIfNeeded() => Notifications++;

    public bool EnableNotification() => !IsBroken && _available.Count > 0;
}
