using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Service;

/// <summary>
/// Ask mode: a stream of an ask-mode VM raises a request (black frames meanwhile); an operator answers it allow or deny,
/// once (this stream) or always (the policy); unanswered it is denied for the stream at its deadline; it is withdrawn
/// when the stream stops first. Every step is audited and sent to the watchers.
/// </summary>
public sealed partial class CameraService
{
    private ulong _lastRequestId;

    private void RaiseRequest(SidecarSession session)
    {
        var vm = session.Vm;
        if (session.Request is not { } stream)
        {
            return;
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var timeout = _options.AskTimeout;
        var request = new AccessRequest(
            ++_lastRequestId, vm.Name, AssignedCameraName(vm), stream, now, now + (long)timeout.TotalMilliseconds,
            MonotonicClock.NowNanoseconds() + (long)timeout.TotalNanoseconds);
        vm.OpenRequest = request;
        Log.Info("policy", $"vm {vm.Name}: request {request.Id} for camera {request.Camera} ({Describe(stream)}); " +
                           $"black until an operator answers, denied for this stream after {timeout.TotalSeconds:0.#} s");
        AppendAudit(vm.Name, AuditActions.Request, session.PeerUid,
            $"{Describe(stream)} from camera {request.Camera}; unanswered it is denied at once after {timeout.TotalSeconds:0.#} s", request.Id);
        Broadcast(vm.Name, e => e.RequestRaised = request.ToMessage());
    }

    private void AnswerRequest(OperatorSession op, ulong requestId, AnswerRequest answer)
    {
        if (!_vms.TryGetValue(answer.Vm, out var vm))
        {
            op.SendError(requestId, UnknownVm(answer.Vm), Errnos.ENOENT);
            return;
        }

        if (answer.Answer is not (Answer.AllowOnce or Answer.AllowAlways or Answer.DenyOnce or Answer.DenyAlways))
        {
            op.SendError(requestId, $"unknown answer {answer.Answer} (allow once or always, deny once or always)", Errnos.EINVAL);
            return;
        }

        var open = vm.OpenRequest;
        if (answer.RequestId != 0 && open?.Id != answer.RequestId)
        {
            op.SendError(requestId, $"request {answer.RequestId} of VM {vm.Name} is no longer open (answered, timed out or " +
                                    "withdrawn when its stream stopped); 'ctl requests' lists the open ones", Errnos.ENOENT);
            return;
        }

        var once = answer.Answer is Answer.AllowOnce or Answer.DenyOnce;
        var allow = answer.Answer is Answer.AllowOnce or Answer.AllowAlways;
        if (once)
        {
            if (ActiveSession(vm) is not { Request: not null })
            {
                op.SendError(requestId, $"VM {vm.Name} is not streaming: a once answer is for a running stream; " +
                                        $"'ctl allow|deny|ask {vm.Name}' sets its policy", Errnos.ENOENT);
                return;
            }

            vm.StreamAnswer = allow ? StreamAnswer.AllowOnce : StreamAnswer.DenyOnce;
            var about = open is null ? "for the current stream" : $"answering request {open.Id}";
            Log.Info("policy", $"vm {vm.Name}: camera {(allow ? "allowed" : "denied")} for this stream by uid {op.PeerUid} (pid {op.PeerPid}), {about}");
            AppendAudit(vm.Name, allow ? AuditActions.AllowOnce : AuditActions.DenyOnce, op.PeerUid,
                $"by pid {op.PeerPid}, {about}", open?.Id ?? 0);
        }
        else
        {
            if (!TrySetPolicy(op, requestId, vm, allow ? CameraPermission.Allow : CameraPermission.Deny, open, out _))
            {
                return;
            }

            vm.StreamAnswer = StreamAnswer.None;
        }

        if (open is not null)
        {
            CloseRequest(vm, OutcomeOf(answer.Answer), op.PeerUid);
        }

        EnforceAndReply(vm, allow ? "camera permission allowed" : "camera permission denied", effectiveBy => op.Send(new OperatorResponse
        {
            Id = requestId,
            RequestAnswered = new RequestAnswered
            {
                Vm = vm.Name,
                RequestId = open?.Id ?? 0,
                Answer = answer.Answer,
                Allowed = EffectiveAllowed(vm),
                EffectiveBy = effectiveBy,
            },
        }));
    }

    /// <summary>Requests past their deadline deny their stream (it stays black until it stops; the next one asks again).</summary>
    private void ExpireRequests()
    {
        var now = MonotonicClock.NowNanoseconds();
        foreach (var vm in _vms.Values)
        {
            if (vm.OpenRequest is not { } open || now < open.DeadlineNs)
            {
                continue;
            }

            vm.StreamAnswer = StreamAnswer.DenyOnce;
            Log.Info("policy", $"vm {vm.Name}: request {open.Id} unanswered after {_options.AskTimeout.TotalSeconds:0.#} s: " +
                               "black for this stream; the next stream asks again");
            AppendAudit(vm.Name, AuditActions.RequestTimeout, PosixFiles.EffectiveUid,
                $"unanswered after {_options.AskTimeout.TotalSeconds:0.#} s: denied for this stream", open.Id);
            CloseRequest(vm, "timeout", PosixFiles.EffectiveUid);
            Enforce(vm, "request timed out");
        }
    }

    /// <summary>The request's stream stopped (or changed, or the VM moved camera) before anyone answered.</summary>
    private void WithdrawRequest(VmRecord vm, string reason)
    {
        if (vm.OpenRequest is not { } open)
        {
            return;
        }

        Log.Info("policy", $"vm {vm.Name}: request {open.Id} withdrawn: {reason}");
        AppendAudit(vm.Name, AuditActions.RequestWithdrawn, PosixFiles.EffectiveUid, reason, open.Id);
        CloseRequest(vm, "withdrawn", PosixFiles.EffectiveUid);
    }

    private void CloseRequest(VmRecord vm, string outcome, uint uid)
    {
        if (vm.OpenRequest is not { } open)
        {
            return;
        }

        vm.OpenRequest = null;
        Broadcast(vm.Name, e => e.RequestClosed = new RequestClosed { RequestId = open.Id, Outcome = outcome, Uid = uid });
    }

    private void SendRequests(OperatorSession op, ulong id)
    {
        var list = new RequestList();
        list.Requests.AddRange(OpenRequests().Select(r => r.ToMessage()));
        op.Send(new OperatorResponse { Id = id, RequestList = list });
    }

    /// <summary>The open requests, oldest first.</summary>
    private IEnumerable<AccessRequest> OpenRequests() =>
        _vms.Values.Select(vm => vm.OpenRequest).OfType<AccessRequest>().OrderBy(r => r.Id);

    private static string OutcomeOf(Answer answer) => answer switch
    {
        Answer.AllowOnce => "allow-once",
        Answer.AllowAlways => "allow-always",
        Answer.DenyOnce => "deny-once",
        _ => "deny-always",
    };
}
