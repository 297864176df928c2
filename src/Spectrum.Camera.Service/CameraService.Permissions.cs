using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Service;

/// <summary>Policy changes: persist, audit, enforce, and answer the operator only once the change is effective.</summary>
public sealed partial class CameraService
{
    private readonly List<PendingDeny> _pendingDenies = [];

    private void SetPermission(OperatorSession op, ulong requestId, SetPermission request)
    {
        if (!_vms.TryGetValue(request.Vm, out var vm))
        {
            op.SendError(requestId, UnknownVm(request.Vm), Errnos.ENOENT);
            return;
        }

        var permission = request.Policy switch
        {
            Protocol.Operator.Policy.Unspecified => request.Allowed ? CameraPermission.Allow : CameraPermission.Deny,
            Protocol.Operator.Policy.Allow => CameraPermission.Allow,
            Protocol.Operator.Policy.Deny => CameraPermission.Deny,
            Protocol.Operator.Policy.Ask => CameraPermission.Ask,
            _ => (CameraPermission?)null,
        };
        if (permission is not { } chosen)
        {
            op.SendError(requestId, $"unknown policy {request.Policy} (allow, deny or ask)", Errnos.EINVAL);
            return;
        }

        if (!TrySetPolicy(op, requestId, vm, chosen, null, out var changed))
        {
            return;
        }

        // An allow or deny overrides a once answer; a policy that stays ask leaves the stream's answer alone.
        if (changed || chosen != CameraPermission.Ask)
        {
            vm.StreamAnswer = StreamAnswer.None;
        }

        if (vm.OpenRequest is not null && chosen != CameraPermission.Ask)
        {
            CloseRequest(vm, chosen == CameraPermission.Allow ? "allow-always" : "deny-always", op.PeerUid);
        }

        if (chosen == CameraPermission.Ask && vm.OpenRequest is null && vm.StreamAnswer == StreamAnswer.None
            && ActiveSession(vm) is { Request: not null } streaming)
        {
            RaiseRequest(streaming);
        }

        EnforceAndReply(vm, "camera permission denied", effectiveBy => op.Send(new OperatorResponse
        {
            Id = requestId,
            PermissionSet = new PermissionSet
            {
                Vm = vm.Name,
                Allowed = EffectiveAllowed(vm),
                Changed = changed,
                EffectiveBy = effectiveBy,
                Policy = ToProto(chosen),
            },
        }));
    }

    /// <summary>
    /// Saves the VM's new policy, and when it changed logs, audits and tells the watchers. False (the operator got an
    /// EIO error) when it could not be saved: nothing changed then.
    /// </summary>
    private bool TrySetPolicy(OperatorSession op, ulong requestId, VmRecord vm, CameraPermission permission, AccessRequest? answering, out bool changed)
    {
        try
        {
            changed = _policy.Set(vm.Name, permission, op.PeerUid, DateTimeOffset.UtcNow);
        }
        catch (IOException e)
        {
            Log.Error("policy", $"vm {vm.Name}: cannot save the policy in {_options.StateDirectory}: {e.Message}");
            op.SendError(requestId, $"cannot save the policy: {e.Message}; permission unchanged", Errnos.EIO);
            changed = false;
            return false;
        }

        if (changed)
        {
            var action = permission switch
            {
                CameraPermission.Allow => AuditActions.Allow,
                CameraPermission.Ask => AuditActions.Ask,
                _ => AuditActions.Deny,
            };
            var why = answering is null ? "" : $", answering request {answering.Id}";
            Log.Info("policy", $"vm {vm.Name}: camera permission {permission.ToWord()} by uid {op.PeerUid} (pid {op.PeerPid}){why}");
            AppendAudit(vm.Name, action, op.PeerUid, $"by pid {op.PeerPid}{why}", answering?.Id ?? 0);
            Broadcast(vm.Name, e => e.PermissionChanged = new PermissionChanged
            {
                Allowed = permission == CameraPermission.Allow,
                Uid = op.PeerUid,
                Policy = ToProto(permission),
            });
        }

        return true;
    }

    /// <summary>
    /// Enforces the VM's effective permission and calls <paramref name="reply"/> with how it took effect: at once for
    /// an allow ("allowed"); for a deny only after the sidecar acknowledged it ("sidecar-ack"), went away
    /// ("sidecar-disconnected") or there was none ("no-sidecar"). A deny always tells a connected sidecar, even one
    /// that was denied already, so the operator's answer means the same every time.
    /// </summary>
    private void EnforceAndReply(VmRecord vm, string reason, Action<string> reply)
    {
        if (EffectiveAllowed(vm))
        {
            Enforce(vm, reason);
            reply("allowed");
            return;
        }

        if (ActiveSession(vm) is not { } session)
        {
            reply("no-sidecar");
            return;
        }

        // Out of the hub first (its group moves to a fresh ring), then tell the sidecar and wait for it.
        LeaveCamera(session, reason);
        if (!TellPermission(session, allowed: false))
        {
            reply("sidecar-disconnected");
            return;
        }

        SendDeniedState(session);
        var deadline = MonotonicClock.NowNanoseconds() + (long)_options.DenyAckTimeout.TotalNanoseconds;
        _pendingDenies.Add(new PendingDeny(session, vm.Generation, reply, deadline));
    }

    private void OnPermissionAck(SidecarSession session, ulong generation)
    {
        for (var i = _pendingDenies.Count - 1; i >= 0; i--)
        {
            var pending = _pendingDenies[i];
            if (ReferenceEquals(pending.Session, session) && pending.Generation <= generation)
            {
                _pendingDenies.RemoveAt(i);
                pending.Reply("sidecar-ack");
            }
        }
    }

    private void ResolvePendingDenies(SidecarSession session, string effectiveBy)
    {
        for (var i = _pendingDenies.Count - 1; i >= 0; i--)
        {
            var pending = _pendingDenies[i];
            if (ReferenceEquals(pending.Session, session))
            {
                _pendingDenies.RemoveAt(i);
                pending.Reply(effectiveBy);
            }
        }
    }

    private void ExpirePendingDenies()
    {
        var now = MonotonicClock.NowNanoseconds();
        for (var i = _pendingDenies.Count - 1; i >= 0; i--)
        {
            var pending = _pendingDenies[i];
            if (now >= pending.DeadlineNs && !pending.Session.IsClosed)
            {
                Log.Warning("policy", $"vm {pending.Session.Vm.Name}: sidecar pid {pending.Session.PeerPid} did not acknowledge " +
                                      $"the deny within {_options.DenyAckTimeout.TotalSeconds:0.#} s; closing its connection");
                // Closing resolves this entry (and any other for the session) as "sidecar-disconnected".
                pending.Session.Close("it did not acknowledge a deny in time");
            }
        }
    }

    private string UnknownVm(string vm) => $"unknown VM '{vm}' (configured: {string.Join(", ", _vms.Keys)})";

    private static Protocol.Operator.Policy ToProto(CameraPermission permission) => permission switch
    {
        CameraPermission.Allow => Protocol.Operator.Policy.Allow,
        CameraPermission.Ask => Protocol.Operator.Policy.Ask,
        _ => Protocol.Operator.Policy.Deny,
    };

    private sealed record PendingDeny(SidecarSession Session, ulong Generation, Action<string> Reply, long DeadlineNs);
}
