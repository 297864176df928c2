using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.HostileDevice;

/// <summary>
/// The view of a real virtqueue that the inner device's transport drives: everything goes straight to the real queue,
/// except that each completion first passes through <see cref="HostileMediaDevice.BeforeComplete"/>, which may rewrite
/// the answer, change its used length, or keep the chain.
/// </summary>
internal sealed class HostileQueue(IVirtqueue real, HostileMediaDevice device) : IVirtqueue
{
    public int Index => real.Index;

    public GuestMemory Memory => real.Memory;

    public bool IsBroken => real.IsBroken;

    public ushort Size => real.Size;

    public QueuePopResult TryPop(out DescriptorChain? chain) => real.TryPop(out chain);

    public void Complete(DescriptorChain chain, uint written)
    {
        if (device.BeforeComplete(real, chain, ref written))
        {
            real.Complete(chain, written);
        }
    }

    public void Fail(string reason) => real.Fail(reason);

    public void NotifyIfNeeded() => real.NotifyIfNeeded();

    public bool EnableNotification() => real.EnableNotification();
}
