using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.VhostUser;

/// <summary>
/// A running virtqueue as a device sees it: the validated split ring plus the driver's call and err eventfds.
/// The one place where a ring violation is reported: it logs one line and signals the err eventfd, and the queue
/// then stays stopped until the driver restarts it. The process lives on.
/// </summary>
public sealed class DeviceQueue : IVirtqueue
{
    // The call and err fds are read from the vring state at signal time: QEMU replaces the call fd while the
    // ring runs (SET_VRING_CALL after SET_VRING_ENABLE), and the old fd is closed then.
    private readonly VringState _state;
    private bool _violationReported;

    internal DeviceQueue(int index, SplitQueue ring, VringState state)
    {
        Index = index;
        Ring = ring;
        _state = state;
    }

    public int Index { get; }

    internal SplitQueue Ring { get; }

    /// <summary>Guest memory as currently mapped.</summary>
    public GuestMemory Memory => Ring.Memory;

    public bool IsBroken => Ring.Violation is not null;

    public bool HasAvailable => Ring.HasAvailable;

    public ushort Size => Ring.Size;

    public int InFlight => Ring.InFlight;

    /// <summary>Takes the next chain; on a driver violation reports it once and returns Broken.</summary>
    public QueuePopResult TryPop(out DescriptorChain? chain)
    {
        var result = Ring.TryPop(out chain);
        if (result == QueuePopResult.Broken)
        {
            ReportViolation();
        }

        return result;
    }

    /// <summary>Stops the queue because of a driver error found above the ring layer.</summary>
    public void Fail(string reason)
    {
        Ring.Stop(reason);
        ReportViolation();
    }

    public void Complete(DescriptorChain chain, uint written) => Ring.Complete(chain, written);

    /// <summary>Interrupts the driver if it asked for it (EVENT_IDX or NO_INTERRUPT rules).</summary>
    public void NotifyIfNeeded()
    {
        if (Ring.ShouldNotify())
        {
            _state.Call?.Signal();
        }
    }

    /// <summary>Re-arms kicks; true if more chains arrived while draining.</summary>
    public bool EnableNotification() => Ring.EnableNotification();

    private void ReportViolation()
    {
        if (_violationReported)
        {
            return;
        }

        _violationReported = true;
        Log.GuestFault("virtqueue", "ring-violation", $"queue {Index} stopped: {Ring.Violation}. It restarts when the driver resets the device.");
        _state.Err?.Signal();
    }
}
