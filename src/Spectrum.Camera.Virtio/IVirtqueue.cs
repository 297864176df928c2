namespace Spectrum.Camera.Virtio;

/// <summary>
/// A running virtqueue as a device drives it: take the driver's chains, hand each back with the number of bytes
/// written into it, and interrupt the driver when it asked to be. The vhost-user layer's DeviceQueue is the product's
/// one; a device's transport works against this, so that it can be driven without a vhost-user connection.
/// </summary>
public interface IVirtqueue
{
    /// <summary>The queue's index in its device.</summary>
    int Index { get; }

    /// <summary>Guest memory as currently mapped.</summary>
    GuestMemory Memory { get; }

    /// <summary>True once a driver violation stopped the queue (until the driver restarts it).</summary>
    bool IsBroken { get; }

    ushort Size { get; }

    /// <summary>Takes the next chain the driver made available.</summary>
    QueuePopResult TryPop(out DescriptorChain? chain);

    /// <summary>Returns <paramref name="chain"/> to the driver with <paramref name="written"/> as its used length.</summary>
    void Complete(DescriptorChain chain, uint written);

    /// <summary>Stops the queue because of a driver error the device found above the ring.</summary>
    void Fail(string reason);

    /// <summary>Interrupts the driver if it asked for it.</summary>
    void NotifyIfNeeded();

    /// <summary>Re-arms driver kicks after draining; true if more chains arrived meanwhile.</summary>
    bool EnableNotification();
}
