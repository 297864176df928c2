using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Service;

/// <summary>Several cameras: which one feeds each VM, moving a VM to another camera, and the camera list.</summary>
public sealed partial class CameraService
{
    /// <summary>The name of the camera the VM is assigned: its policy's, else the first camera.</summary>
    private string AssignedCameraName(VmRecord vm) => _policy.Get(vm.Name).Camera ?? _hubs[0].Name;

    /// <summary>The hub of the VM's assigned camera, or null when that camera is not configured (any more).</summary>
    private CameraHub? HubOf(VmRecord vm) => _hubsByName.GetValueOrDefault(AssignedCameraName(vm));

    /// <summary>The hub the sidecar receives frames from now, or null.</summary>
    private CameraHub? CurrentHub(SidecarSession session)
    {
        foreach (var hub in _hubs)
        {
            if (hub.IsMember(session))
            {
                return hub;
            }
        }

        return null;
    }

    private void AssignCamera(OperatorSession op, ulong requestId, AssignCamera request)
    {
        if (!_vms.TryGetValue(request.Vm, out var vm))
        {
            op.SendError(requestId, UnknownVm(request.Vm), Errnos.ENOENT);
            return;
        }

        if (!_hubsByName.TryGetValue(request.Camera, out var target))
        {
            op.SendError(requestId, $"unknown camera '{request.Camera}' (configured: {string.Join(", ", _hubs.Select(h => h.Name))})", Errnos.ENOENT);
            return;
        }

        var previous = AssignedCameraName(vm);
        try
        {
            _policy.Assign(vm.Name, target.Name);
        }
        catch (IOException e)
        {
            Log.Error("policy", $"vm {vm.Name}: cannot save the policy in {_options.StateDirectory}: {e.Message}");
            op.SendError(requestId, $"cannot save the policy: {e.Message}; assignment unchanged", Errnos.EIO);
            return;
        }

        var changed = previous != target.Name;
        if (changed)
        {
            Log.Info("policy", $"vm {vm.Name}: assigned camera {target.Name} (was {previous}) by uid {op.PeerUid} (pid {op.PeerPid})");
            AppendAudit(vm.Name, AuditActions.Assign, op.PeerUid, $"camera {target.Name} (was {previous}) by pid {op.PeerPid}");
            Broadcast(vm.Name, e => e.CameraChanged = new CameraChanged { Camera = target.Name, Uid = op.PeerUid });
            if (vm.OpenRequest is not null && ActiveSession(vm) is { } asking)
            {
                // The operator is asked about the camera the VM would get: ask again for the new one.
                WithdrawRequest(vm, $"the VM was assigned camera {target.Name}");
                RaiseRequest(asking);
            }

            if (ActiveSession(vm) is { } session)
            {
                MoveToAssignedCamera(session);
            }
        }

        op.Send(new OperatorResponse
        {
            Id = requestId,
            CameraAssigned = new CameraAssigned { Vm = vm.Name, Camera = target.Name, Changed = changed },
        });
    }

    /// <summary>
    /// Moves a VM that receives real frames to the camera it is now assigned, make before break: it keeps the old
    /// camera's frames until the new camera's first frame (<see cref="CameraHub.Prepare"/>), so its guest sees the
    /// same format and sequence and no black frame, just the other picture from the next frame on.
    /// </summary>
    private void MoveToAssignedCamera(SidecarSession session)
    {
        var vm = session.Vm;
        var target = HubOf(vm);
        foreach (var hub in _hubs)
        {
            if (hub != target)
            {
                hub.CancelArrival(session);
            }
        }

        if (session.Request is not { } request || !EffectiveAllowed(vm))
        {
            return;
        }

        var current = CurrentHub(session);
        if (current == target)
        {
            return;
        }

        if (current is null || target is null)
        {
            LeaveCamera(session, $"assigned camera {AssignedCameraName(vm)}");
            JoinCamera(session);
            return;
        }

        target.Prepare(session, request, arrived => CompleteMove(arrived, target));
    }

    /// <summary>The new camera has a frame: the VM leaves the old camera and joins it, just before that frame goes out.</summary>
    private void CompleteMove(SidecarSession session, CameraHub target)
    {
        var vm = session.Vm;
        if (session.IsClosed || session.Request is not { } request || !EffectiveAllowed(vm) || HubOf(vm) != target
            || target.IsMember(session))
        {
            return;
        }

        if (CurrentHub(session) is { } current)
        {
            current.Leave(session, rotate: true);
            AppendAudit(vm.Name, AuditActions.RealStreamStop, session.PeerUid, $"moved to camera {target.Name}");
        }

        target.Join(session, request);
        var wasReceiving = vm.ReceivesRealFrames;
        vm.ReceivesRealFrames = true;
        // The frame notice for the ring just attached goes out when this returns; the audit line (an fsync) waits
        // until after it, so the sidecar is never left holding a new ring without a frame to show.
        _loop.Post(() =>
        {
            AppendAudit(vm.Name, AuditActions.RealStreamStart, session.PeerUid,
                $"{Describe(request)} from camera {target.Name} ({target.Device}) (sidecar pid {session.PeerPid})");
            Log.Info("service", $"vm {vm.Name}: now fed from camera {target.Name}");
            if (!wasReceiving)
            {
                Broadcast(vm.Name, e => e.RealFrames = new RealFrames { Receiving = true, Camera = target.Name });
            }
        });
    }

    private void SendCameras(OperatorSession op, ulong id)
    {
        var list = new CameraList();
        foreach (var hub in _hubs)
        {
            var info = new CameraInfo
            {
                Name = hub.Name,
                Device = hub.Device,
                State = StateWord(hub.State),
                Description = hub.Description,
                Frames = hub.FramesReceived,
            };
            info.Vms.AddRange(_vms.Values.Where(vm => HubOf(vm) == hub).Select(vm => vm.Name));
            info.ReceivingVms.AddRange(hub.Members.Select(s => s.Vm.Name).Order(StringComparer.Ordinal));
            list.Cameras.Add(info);
        }

        op.Send(new OperatorResponse { Id = id, CameraList = list });
    }

    private static string StateWord(FeedState state) => state switch
    {
        FeedState.Streaming => "streaming",
        FeedState.Unavailable => "unavailable",
        FeedState.Opening => "opening",
        _ => "stopped",
    };
}
