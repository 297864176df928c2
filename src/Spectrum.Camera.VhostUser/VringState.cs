using Spectrum.Camera.Native;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.VhostUser;

/// <summary>
/// What the front-end has told us about one virtqueue (size, addresses, base, fds) and its lifecycle flags
/// (vhost-user spec, "Ring states"): started by SET_VRING_KICK, stopped by GET_VRING_BASE, enabled by SET_VRING_ENABLE.
/// It runs only while started, enabled and fully described.
/// </summary>
internal sealed class VringState : IDisposable
{
    public uint Size { get; set; }

    public VirtqueueAddresses? Addresses { get; set; }

    public ushort Base { get; set; }

    public EventFd? Kick { get; set; }

    public EventFd? Call { get; set; }

    public EventFd? Err { get; set; }

    public bool Started { get; set; }

    public bool Enabled { get; set; }

    /// <summary>The running queue handed to the device, or null while not running.</summary>
    public DeviceQueue? Running { get; set; }

    /// <summary>Addresses and avail index of the last run, to tell a VM stop/cont from a new driver instance.</summary>
    public (VirtqueueAddresses Addresses, ushort Base)? LastRun { get; set; }

    /// <summary>The ring of the last run while stopped: a VM cont takes over its in-flight chains.</summary>
    public SplitQueue? Suspended { get; set; }

    public void ReplaceKick(EventFd? kick)
    {
        Kick?.Dispose();
        Kick = kick;
    }

    public void ReplaceCall(EventFd? call)
    {
        Call?.Dispose();
        Call = call;
    }

    public void ReplaceErr(EventFd? err)
    {
        Err?.Dispose();
        Err = err;
    }

    public void Dispose()
    {
        Kick?.Dispose();
        Call?.Dispose();
        Err?.Dispose();
        Kick = Call = Err = null;
    }
}
