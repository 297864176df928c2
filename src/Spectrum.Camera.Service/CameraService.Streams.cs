using Spectrum.Camera.Threading;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Service;

/// <summary>
/// A VM's stream as its sidecar drives it: the messages it sends, a stream starting and stopping, the sidecar going,
/// and the VM joining and leaving its camera's hub as permission and streaming allow.
/// </summary>
public sealed partial class CameraService
{
    private void OnSidecarMessage(SidecarSession session, SidecarMessage message)
    {
        var vm = session.Vm;
        if (!session.Welcomed)
        {
            if (message.KindCase != SidecarMessage.KindOneofCase.Hello)
            {
                session.Refuse($"expected Hello first, got {message.KindCase}");
            }
            else if (message.Hello.ProtocolVersion != 1)
            {
                session.Refuse($"protocol version {message.Hello.ProtocolVersion} is not supported (this service speaks 1)");
            }
            else if (message.Hello.Vm != vm.Name)
            {
                session.Refuse($"this socket belongs to VM {vm.Name}; a sidecar for '{message.Hello.Vm}' must use that VM's socket");
            }
            else
            {
                session.Welcomed = true;
                var allowed = EffectiveAllowed(vm);
                session.ToldAllowed = allowed;
                session.Send(new ServiceMessage
                {
                    Welcome = new Welcome { ProtocolVersion = 1, Vm = vm.Name, Allowed = allowed, Generation = vm.Generation },
                });
                Log.Info("service", $"vm {vm.Name}: sidecar connected (pid {session.PeerPid}, uid {session.PeerUid}); " +
                                    $"camera permission {_policy.Get(vm.Name).Permission.ToWord()}");
            }

            return;
        }

        switch (message.KindCase)
        {
            case SidecarMessage.KindOneofCase.StartStream:
                OnStartStream(session, message.StartStream);
                break;
            case SidecarMessage.KindOneofCase.StopStream:
                OnStopStream(session, "the guest stopped streaming");
                break;
            case SidecarMessage.KindOneofCase.PermissionAck:
                OnPermissionAck(session, message.PermissionAck.Generation);
                break;
            case SidecarMessage.KindOneofCase.Counters:
                vm.ReportedCameraFrames = message.Counters.CameraFrames;
                vm.ReportedBlackFrames = message.Counters.BlackFrames;
                break;
            default:
                session.Refuse($"unexpected {message.KindCase} after Hello");
                break;
        }
    }

    private void OnStartStream(SidecarSession session, StartStream start)
    {
        var request = StreamRequestValidator.Validate(start, out var error);
        if (request is null)
        {
            session.Refuse($"bad StartStream: {error}");
            return;
        }

        var vm = session.Vm;
        if (session.Request is not null)
        {
            EndStream(session, "the guest changed its stream");
        }

        FoldCounters(vm);
        session.Request = request;
        if (_policy.Get(vm.Name).Permission == CameraPermission.Ask)
        {
            RaiseRequest(session);
        }

        var allowed = EffectiveAllowed(vm);
        Log.Info("service", $"vm {vm.Name}: guest streams {request.Value}; " +
                            (allowed ? "real frames" : vm.OpenRequest is { } open ? $"black until an operator answers request {open.Id}" : "black (no permission)"));
        Broadcast(vm.Name, e => e.StreamStarted = new StreamStarted { GuestFormat = Describe(request.Value), Real = allowed });
        Enforce(vm, "camera permission denied");
    }

    private void OnStopStream(SidecarSession session, string reason)
    {
        if (session.Request is null)
        {
            return;
        }

        EndStream(session, reason);
        Log.Info("service", $"vm {session.Vm.Name}: stream stopped ({reason})");
        Broadcast(session.Vm.Name, e => e.StreamStopped = new StreamStopped { Reason = reason });
    }

    /// <summary>
    /// The guest's stream is over: out of the camera, its once answer and open request end with it, and a sidecar
    /// that was allowed for this stream only is told it no longer is.
    /// </summary>
    private void EndStream(SidecarSession session, string reason)
    {
        var vm = session.Vm;
        LeaveCamera(session, reason);
        session.Request = null;
        vm.StreamAnswer = StreamAnswer.None;
        if (vm.OpenRequest is not null)
        {
            WithdrawRequest(vm, reason);
        }

        if (!session.IsClosed && session.ToldAllowed && !EffectiveAllowed(vm))
        {
            TellPermission(session, allowed: false);
        }
    }

    private void OnSidecarClosed(SidecarSession session, string reason)
    {
        var vm = session.Vm;
        OnStopStream(session, $"sidecar disconnected: {reason}");
        ResolvePendingDenies(session, "sidecar-disconnected");
        if (ReferenceEquals(vm.Session, session))
        {
            vm.Session = null;
            if (session.Welcomed)
            {
                Log.Info("service", $"vm {vm.Name}: sidecar pid {session.PeerPid} disconnected: {reason}");
            }
        }
    }

    /// <summary>Makes an allowed, streaming VM a member of its camera's hub (it receives real frames from now on).</summary>
    private void JoinCamera(SidecarSession session)
    {
        if (session.Request is not { } request || CurrentHub(session) is not null)
        {
            return;
        }

        var vm = session.Vm;
        if (HubOf(vm) is not { } hub)
        {
            session.Send(new ServiceMessage
            {
                CameraState = new CameraState
                {
                    State = CameraState.Types.State.Unavailable,
                    Detail = $"assigned camera '{AssignedCameraName(vm)}' is not configured",
                },
            });
            return;
        }

        hub.Join(session, request);
        AppendAudit(vm.Name, AuditActions.RealStreamStart, session.PeerUid,
            $"{Describe(request)} from camera {hub.Name} ({hub.Device}) (sidecar pid {session.PeerPid})");
        if (!vm.ReceivesRealFrames)
        {
            vm.ReceivesRealFrames = true;
            Broadcast(vm.Name, e => e.RealFrames = new RealFrames { Receiving = true, Camera = hub.Name });
        }
    }

    /// <summary>
    /// Takes a VM out of its camera hub (and forgets any move it was making). Its output group moves to a fresh ring
    /// if others remain, so whatever the sidecar still maps is never written again; this is what makes a deny hold
    /// even against a compromised sidecar.
    /// </summary>
    private void LeaveCamera(SidecarSession session, string reason)
    {
        foreach (var arriving in _hubs)
        {
            arriving.CancelArrival(session);
        }

        if (CurrentHub(session) is not { } hub)
        {
            return;
        }

        hub.Leave(session, rotate: true);
        var vm = session.Vm;
        AppendAudit(vm.Name, AuditActions.RealStreamStop, session.PeerUid, reason);
        if (vm.ReceivesRealFrames)
        {
            vm.ReceivesRealFrames = false;
            Broadcast(vm.Name, e => e.RealFrames = new RealFrames { Receiving = false, Camera = hub.Name });
        }
    }
}
