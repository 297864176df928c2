using Spectrum.Camera.Threading;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.VhostUser;

/// <summary>
/// What a device plugs into the vhost-user backend. Devices never see a vhost-user message: the backend owns
/// negotiation, memory and ring lifecycle, and calls these members on the device loop thread only.
/// </summary>
public interface IVirtioDevice
{
    /// <summary>Device-specific virtio feature bits (virtio-media has none).</summary>
    ulong DeviceFeatures { get; }

    /// <summary>Number of virtqueues.</summary>
    int QueueCount { get; }

    /// <summary>Device configuration space, read-only for the driver.</summary>
    ReadOnlySpan<byte> ConfigSpace { get; }

    /// <summary>Called once before anything else, with the loop the device may register timers on.</summary>
    void Attach(EventLoop deviceLoop);

    /// <summary>A new driver instance is starting (guest reboot, driver reload): drop all guest-visible state.</summary>
    void Reset();

    /// <summary>
    /// Queue <paramref name="index"/> runs: the device may pop, complete and notify on it from now on. The backend hands
    /// over its <see cref="DeviceQueue"/>; a device that wraps another may hand that one its own view of the queue.
    /// </summary>
    void QueueStarted(int index, IVirtqueue queue);

    /// <summary>
    /// Queue <paramref name="index"/> stops (VM stop, reset, shutdown). After this returns the device must not touch
    /// the queue or write guest memory for it until it is started again.
    /// </summary>
    void QueueStopped(int index);

    /// <summary>The driver kicked queue <paramref name="index"/>, or it was just (re)enabled and may hold work.</summary>
    void QueueNotified(int index);

    /// <summary>
    /// Bytes of the device's VIRTIO shared-memory region 0 (virtio 1.4 §2.10), or 0 for a device without one. With a
    /// region the backend offers the SHMEM protocol feature and reports the size in GET_SHMEM_CONFIG.
    /// </summary>
    ulong SharedMemoryRegionSize => 0;

    /// <summary>
    /// The front-end can now map into region 0 through <paramref name="mapper"/>, or (null) no longer can: the
    /// connection or its backend channel ended, and whatever the device had mapped is the front-end's to drop.
    /// </summary>
    void SharedMemoryChanged(ISharedMemoryMapper? mapper)
    {
    }

    /// <summary>
    /// The connection ended (the VMM closed it, broke the protocol, or the sidecar is stopping): its driver is gone, so
    /// whatever the device holds for it (sessions, buffers) can go. Called after the queues stopped and the mapper went.
    /// </summary>
    void ConnectionEnded()
    {
    }
}
