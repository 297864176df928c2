using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Service.Feeds;

namespace Spectrum.Camera.Service;

/// <summary>The operator API: who may connect, and the answers to list, status, set, watch, audit, requests and cameras.</summary>
public sealed partial class CameraService
{
    /// <summary>Audit entries per AuditChunk packet (an entry is well under 300 bytes; packets hold 64 KiB).</summary>
    private const int AuditEntriesPerChunk = 128;

    private void AcceptOperator(UnixSocket listener)
    {
        UnixSocket socket;
        try
        {
            socket = listener.Accept();
        }
        catch (NativeException e)
        {
            Log.Warning("operator", $"accept failed: {e.Message}");
            return;
        }

        var (pid, uid, gid) = socket.GetPeerCredentials();
        if (!_authorizer.IsOperator(uid, gid, out var reason))
        {
            Log.Warning("operator", $"refused operator connection from pid {pid}: {reason}");
            using var refused = new MessageChannel<OperatorRequest, OperatorResponse>(socket, OperatorSession.MaxPacketBytes);
            try
            {
                refused.TrySend(new OperatorResponse { Error = new Error { Message = $"permission denied: {reason}", Errno = Errnos.EACCES } });
            }
            catch (NativeException)
            {
            }

            return;
        }

        _operators.Add(new OperatorSession(socket, pid, uid, _loop, OnOperatorRequest, op => _operators.Remove(op)));
    }

    private void OnOperatorRequest(OperatorSession op, OperatorRequest request)
    {
        var id = request.Id;
        switch (request.KindCase)
        {
            case OperatorRequest.KindOneofCase.ListVms:
                var list = new VmList();
                list.Vms.AddRange(_vms.Keys);
                op.Send(new OperatorResponse { Id = id, VmList = list });
                break;
            case OperatorRequest.KindOneofCase.GetStatus:
                SendStatus(op, id, request.GetStatus.Vm);
                break;
            case OperatorRequest.KindOneofCase.SetPermission:
                SetPermission(op, id, request.SetPermission);
                break;
            case OperatorRequest.KindOneofCase.Watch:
                op.Watching = true;
                op.WatchId = id;
                // A front end that starts now still gets the requests that are waiting.
                foreach (var open in OpenRequests())
                {
                    op.Send(new OperatorResponse
                    {
                        Id = id,
                        Event = new Event { TimeUnixMs = open.TimeUnixMs, Vm = open.Vm, RequestRaised = open.ToMessage() },
                    });
                }

                break;
            case OperatorRequest.KindOneofCase.ReadAudit:
                SendAudit(op, id, request.ReadAudit);
                break;
            case OperatorRequest.KindOneofCase.ListRequests:
                SendRequests(op, id);
                break;
            case OperatorRequest.KindOneofCase.AnswerRequest:
                AnswerRequest(op, id, request.AnswerRequest);
                break;
            case OperatorRequest.KindOneofCase.AssignCamera:
                AssignCamera(op, id, request.AssignCamera);
                break;
            case OperatorRequest.KindOneofCase.ListCameras:
                SendCameras(op, id);
                break;
            default:
                op.SendError(id, $"unknown request {request.KindCase}", Errnos.EINVAL);
                break;
        }
    }

    private void SendStatus(OperatorSession op, ulong id, string vmName)
    {
        var list = new StatusList();
        if (vmName.Length > 0)
        {
            if (!_vms.TryGetValue(vmName, out var vm))
            {
                op.SendError(id, UnknownVm(vmName), Errnos.ENOENT);
                return;
            }

            list.Vms.Add(StatusOf(vm));
        }
        else
        {
            foreach (var vm in _vms.Values)
            {
                list.Vms.Add(StatusOf(vm));
            }
        }

        op.Send(new OperatorResponse { Id = id, StatusList = list });
    }

    private VmStatus StatusOf(VmRecord vm)
    {
        var policy = _policy.Get(vm.Name);
        var session = ActiveSession(vm);
        var request = session?.Request;
        var allowed = EffectiveAllowed(vm);
        var hub = session is null ? null : CurrentHub(session);
        var cameraState = !allowed ? (vm.OpenRequest is not null ? "asking" : "denied")
            : request is null ? "idle"
            : HubOf(vm) is null ? "unavailable"
            : hub is null ? "idle"
            : hub.State switch
            {
                FeedState.Streaming => "streaming",
                FeedState.Unavailable => "unavailable",
                _ => "opening",
            };
        var status = new VmStatus
        {
            Vm = vm.Name,
            Allowed = allowed,
            SidecarConnected = session is not null,
            Streaming = request is not null,
            GuestFormat = request is { } r ? Describe(r) : string.Empty,
            RealFrames = vm.TotalCameraFrames + vm.ReportedCameraFrames,
            BlackFrames = vm.TotalBlackFrames + vm.ReportedBlackFrames,
            LastChangeUnixMs = policy.ChangedUnixMs,
            LastChangeUid = policy.ChangedByUid,
            Camera = AssignedCameraName(vm),
            CameraState = cameraState,
            FramesOffered = vm.FramesOffered,
            Policy = ToProto(policy.Permission),
            StreamAnswer = vm.StreamAnswer switch
            {
                StreamAnswer.AllowOnce => "allow-once",
                StreamAnswer.DenyOnce => "deny-once",
                _ => "",
            },
        };
        if (vm.OpenRequest is { } open)
        {
            status.Request = open.ToMessage();
        }

        return status;
    }

    private void SendAudit(OperatorSession op, ulong id, ReadAudit request)
    {
        if (request.Vm.Length > 0 && !_vms.ContainsKey(request.Vm))
        {
            op.SendError(id, $"unknown VM '{request.Vm}'", Errnos.ENOENT);
            return;
        }

        IReadOnlyList<Policy.AuditRecord> records;
        try
        {
            records = _audit.Read(request.Vm.Length > 0 ? request.Vm : null, (int)Math.Min(request.Limit, int.MaxValue));
        }
        catch (IOException e)
        {
            op.SendError(id, $"cannot read the audit log: {e.Message}", Errnos.EIO);
            return;
        }

        var index = 0;
        do
        {
            var chunk = new AuditChunk();
            for (var n = 0; n < AuditEntriesPerChunk && index < records.Count; n++, index++)
            {
                var r = records[index];
                chunk.Entries.Add(new AuditEntry
                {
                    TimeUnixMs = r.TimeUnixMs, Vm = r.Vm, Action = r.Action, Uid = r.Uid, Detail = r.Detail, RequestId = r.RequestId,
                });
            }

            chunk.Last = index >= records.Count;
            op.Send(new OperatorResponse { Id = id, AuditChunk = chunk });
        }
        while (index < records.Count && !op.IsClosed);
    }

    /// <summary>Sends an event to every watching operator connection.</summary>
    private void Broadcast(string vm, Action<Event> fill)
    {
        Event? e = null;
        foreach (var op in _operators.ToArray())
        {
            if (!op.Watching || op.IsClosed)
            {
                continue;
            }

            if (e is null)
            {
                e = new Event { TimeUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Vm = vm };
                fill(e);
            }

            op.Send(new OperatorResponse { Id = op.WatchId, Event = e });
        }
    }
}
