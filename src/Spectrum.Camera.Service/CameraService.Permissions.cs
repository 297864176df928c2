using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Service;

/// <summary>Permission changes: persist, audit, enforce, and answer the operator only once the change is effective.</summary>
public sealed partial class CameraService
{
    private readonly List<PendingDeny> _pendingDenies = [];

    private void SetPermission(OperatorSession op, ulong requestId, SetPermission request)
    {
        if (!_vms.TryGetValue(request.Vm, out var vm))
        {
            op.SendError(requestId, $"unknown VM '{request.Vm}' (configured: {string.Join(", ", _vms.Keys)})", Errnos.ENOENT);
            return;
        }

        bool changed;
        try
        {
            changed = _policy.Set(vm.Name, request.Allowed, op.PeerUid, DateTimeOffset.UtcNow);
        }
        catch (IOException e)
        {
            Log.Error("policy", $"vm {vm.Name}: cannot save the policy in {_options.StateDirectory}: {e.Message}");
            op.SendError(requestId, $"cannot save the policy: {e.Message}; permission unchanged", Errnos.EIO);
            return;
        }

        var word = request.Allowed ? "allowed" : "denied";
        if (changed)
        {
            Log.Info("policy", $"vm {vm.Name}: camera permission {word} by uid {op.PeerUid} (pid {op.PeerPid})");
            AppendAudit(vm.Name, request.Allowed ? AuditActions.Allow : AuditActions.Deny, op.PeerUid, $"by pid {op.PeerPid}");
            Broadcast(vm.Name, e => e.PermissionChanged = new PermissionChanged { Allowed = request.Allowed, Uid = op.PeerUid });
        }

        var session = vm.Session is { Welcomed: true, IsClosed: false } s ? s : null;
        if (request.Allowed)
        {
            if (session is not null && changed)
            {
                vm.Generation++;
                session.Send(new ServiceMessage { Permission = new Permission { Allowed = true, Generation = vm.Generation } });
                JoinCamera(session);
            }

            ReplyPermission(op, requestId, vm.Name, true, changed, "allowed");
            return;
        }

        if (session is null)
        {
            ReplyPermission(op, requestId, vm.Name, false, changed, "no-sidecar");
            return;
        }

        // Out of the hub first (its group moves to a fresh ring), then tell the sidecar and wait for it.
        LeaveCamera(session, "camera permission denied");
        vm.Generation++;
        if (!session.Send(new ServiceMessage { Permission = new Permission { Allowed = false, Generation = vm.Generation } }))
        {
            ReplyPermission(op, requestId, vm.Name, false, changed, "sidecar-disconnected");
            return;
        }

        var deadline = MonotonicClock.NowNanoseconds() + (long)_options.DenyAckTimeout.TotalNanoseconds;
        _pendingDenies.Add(new PendingDeny(session, vm.Generation, op, requestId, changed, deadline));
    }

    private void OnPermissionAck(SidecarSession session, ulong generation)
    {
        for (var i = _pendingDenies.Count - 1; i >= 0; i--)
        {
            var pending = _pendingDenies[i];
            if (ReferenceEquals(pending.Session, session) && pending.Generation <= generation)
            {
                _pendingDenies.RemoveAt(i);
                ReplyPermission(pending.Operator, pending.RequestId, session.Vm.Name, false, pending.Changed, "sidecar-ack");
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
                ReplyPermission(pending.Operator, pending.RequestId, session.Vm.Name, false, pending.Changed, effectiveBy);
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

    private static void ReplyPermission(OperatorSession op, ulong requestId, string vm, bool allowed, bool changed, string effectiveBy) =>
        op.Send(new OperatorResponse
        {
            Id = requestId,
            PermissionSet = new PermissionSet { Vm = vm, Allowed = allowed, Changed = changed, EffectiveBy = effectiveBy },
        });

    private sealed record PendingDeny(
        SidecarSession Session, ulong Generation, OperatorSession Operator, ulong RequestId, bool Changed, long DeadlineNs);
}
