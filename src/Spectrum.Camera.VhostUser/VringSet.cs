using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.VhostUser;

/// <summary>
/// The virtqueues of one connection, the guest memory they live in, and their lifecycle: what the front-end has said
/// about each ring (<see cref="VringState"/>), when a ring starts and stops, and when a restart means a new driver
/// instance. The request handlers only record values here and ask for <see cref="Update"/>; every decision about
/// running a ring is made in this one place. Runs on the loop thread only.
/// </summary>
/// <remarks>
/// A ring runs while it is started (by its kick fd), enabled, has a size, addresses and a kick fd, and guest memory is
/// mapped. QEMU's generic vhost-user device never sends a device reset, so a reset is inferred: when rings restart at
/// addresses or a base other than those of their last run, a new driver instance (guest reboot, driver reload) is
/// starting. A VM stop/cont restarts at the same addresses and the base the backend returned, and keeps the device's
/// state and the chains it still holds.
/// </remarks>
internal sealed class VringSet : IDisposable
{
    private const string Component = "vhost-user";

    private readonly IVirtioDevice _device;
    private readonly EventLoop _loop;
    private readonly VringState[] _vrings;
    private bool _everStarted;

    public VringSet(IVirtioDevice device, EventLoop loop)
    {
        _device = device;
        _loop = loop;
        _vrings = new VringState[device.QueueCount];
        for (var i = 0; i < _vrings.Length; i++)
        {
            _vrings[i] = new VringState();
        }
    }

    public int Count => _vrings.Length;

    /// <summary>The current guest memory map (empty before the first memory table).</summary>
    public GuestMemory Memory { get; private set; } = GuestMemory.Empty;

    /// <summary>The virtio features the driver acknowledged: rings start with its EVENT_IDX and INDIRECT_DESC choices.</summary>
    public ulong AckedFeatures { get; set; }

    public bool AnyRunning => _vrings.Any(v => v.Running is not null);

    public VringState this[int index] => _vrings[index];

    /// <summary>
    /// Maps new guest memory: running rings are re-translated to it (a ring that no longer fits stops as a violation),
    /// then the old map is unmapped. Safe because the loop thread is the only user of either map.
    /// </summary>
    public void ReplaceMemory(GuestMemory memory)
    {
        var old = Memory;
        Memory = memory;
        for (var i = 0; i < _vrings.Length; i++)
        {
            var running = _vrings[i].Running;
            if (running is not null && !running.Ring.TryRebind(memory, _vrings[i].Addresses!.Value, out var error))
            {
                running.Fail($"queue {i} no longer fits the new memory table: {error}");
            }
        }

        old.Dispose();
    }

    /// <summary>Enables or disables every ring at once (features without F_PROTOCOL_FEATURES, RESET_OWNER).</summary>
    public void SetAllEnabled(bool enabled)
    {
        for (var i = 0; i < _vrings.Length; i++)
        {
            _vrings[i].Enabled = enabled;
            Update(i);
        }
    }

    /// <summary>A new kick fd: the ring is started (vhost-user spec) and, if it runs, watched on the new fd.</summary>
    public void ReplaceKick(int q, EventFd kick)
    {
        var vring = _vrings[q];
        if (vring.Running is not null && vring.Kick is not null)
        {
            _loop.Unwatch(vring.Kick.Fd);
            vring.ReplaceKick(kick);
            _loop.Watch(kick.Fd, () => OnKick(q));
        }
        else
        {
            vring.ReplaceKick(kick);
        }

        vring.Started = true;
        Update(q);
    }

    /// <summary>GET_VRING_BASE: stops the ring (the device quiesces first) and returns the index to resume from.</summary>
    public ushort Stop(int q)
    {
        var vring = _vrings[q];
        vring.Started = false;
        Update(q);
        vring.ReplaceKick(null);
        return vring.Base;
    }

    /// <summary>Starts or stops ring <paramref name="q"/> to match its started/enabled/described state.</summary>
    public void Update(int q)
    {
        var v = _vrings[q];
        var shouldRun = v.Started && v.Enabled && v.Kick is not null && v.Addresses is not null && v.Size != 0 &&
                        Memory.Regions.Count > 0;
        if (shouldRun && v.Running is null)
        {
            StartRing(q);
        }
        else if (!shouldRun && v.Running is not null)
        {
            StopRing(q);
        }
    }

    /// <summary>Stops every ring and releases memory and fds.</summary>
    public void Dispose()
    {
        for (var i = 0; i < _vrings.Length; i++)
        {
            StopRing(i);
            _vrings[i].Dispose();
        }

        Memory.Dispose();
        Memory = GuestMemory.Empty;
    }

    private void StartRing(int q)
    {
        var v = _vrings[q];
        if (!AnyRunning && IsNewDriverInstance())
        {
            Log.Info(Component, _everStarted ? "driver restarted with new rings: resetting the device" : "driver started");
            foreach (var vring in _vrings)
            {
                // Chains of the old driver instance must never be completed into the new rings.
                vring.Suspended = null;
            }

            _device.Reset();
        }

        var eventIdx = (AckedFeatures & VhostUserFeatures.RingEventIdx) != 0;
        var indirect = (AckedFeatures & VhostUserFeatures.RingIndirectDesc) != 0;
        var ring = SplitQueue.TryCreate(Memory, v.Size, v.Addresses!.Value, v.Base, eventIdx, indirect, out var error);
        if (ring is null)
        {
            Log.GuestFault(Component, "ring-setup", $"queue {q} cannot start: {error}");
            v.Err?.Signal();
            return;
        }

        // VM stop/cont: the same driver continues on the same ring, so chains the device still holds stay in flight.
        if (v.Suspended is { } previous && previous.Size == ring.Size && v.LastRun is { } last &&
            last.Addresses == v.Addresses.Value && last.Base == v.Base)
        {
            ring.AdoptInFlight(previous);
        }

        v.Suspended = null;
        _everStarted = true;
        v.Running = new DeviceQueue(q, ring, v);
        _loop.Watch(v.Kick!.Fd, () => OnKick(q));
        Log.Debug(Component, $"queue {q} started: size {v.Size}, base {v.Base}, event_idx {eventIdx}, indirect {indirect}");
        _device.QueueStarted(q, v.Running);

        // Re-scan on start: QEMU's kick can arrive before the ring is enabled, and eventq buffers are posted early.
        _device.QueueNotified(q);
    }

    private void StopRing(int q)
    {
        var v = _vrings[q];
        if (v.Running is null)
        {
            return;
        }

        if (v.Kick is not null)
        {
            _loop.Unwatch(v.Kick.Fd);
        }

        _device.QueueStopped(q);
        v.Base = v.Running.Ring.LastAvailIndex;
        v.LastRun = (v.Addresses!.Value, v.Base);
        v.Suspended = v.Running.Ring;
        v.Running = null;
        Log.Debug(Component, $"queue {q} stopped at avail index {v.Base}");
    }

    /// <summary>True when the rings about to start belong to another driver instance than their last run.</summary>
    private bool IsNewDriverInstance()
    {
        if (!_everStarted)
        {
            return true;
        }

        foreach (var v in _vrings)
        {
            if (v.Addresses is not null && v.LastRun is { } last && (last.Addresses != v.Addresses.Value || last.Base != v.Base))
            {
                return true;
            }
        }

        return false;
    }

    private void OnKick(int q)
    {
        var v = _vrings[q];
        v.Kick?.Consume();
        if (v.Running is not null)
        {
            _device.QueueNotified(q);
        }
    }
}
