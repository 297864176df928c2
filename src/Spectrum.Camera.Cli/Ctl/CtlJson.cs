using System.Text;
using System.Text.Json;
using Spectrum.Camera.Protocol.Operator;

namespace Spectrum.Camera.Cli.Ctl;

/// <summary>
/// ctl's --json output, written field by field (AOT-safe, and the field names are the .proto's snake_case ones):
/// one object for status, requests, cameras, allow/deny/ask, answers, assign and audit; one object per line for watch.
/// </summary>
internal static class CtlJson
{
    /// <summary><c>{"vms":[{"vm":..., "allowed":..., ...}]}</c>.</summary>
    public static string Status(StatusList list)
    {
        ArgumentNullException.ThrowIfNull(list);
        return Write(json =>
        {
            json.WriteStartObject();
            json.WriteStartArray("vms");
            foreach (var vm in list.Vms)
            {
                json.WriteStartObject();
                json.WriteString("vm", vm.Vm);
                json.WriteBoolean("allowed", vm.Allowed);
                json.WriteBoolean("sidecar_connected", vm.SidecarConnected);
                json.WriteBoolean("streaming", vm.Streaming);
                json.WriteString("guest_format", vm.GuestFormat);
                json.WriteNumber("real_frames", vm.RealFrames);
                json.WriteNumber("black_frames", vm.BlackFrames);
                json.WriteNumber("frames_offered", vm.FramesOffered);
                json.WriteNumber("last_change_unix_ms", vm.LastChangeUnixMs);
                json.WriteNumber("last_change_uid", vm.LastChangeUid);
                json.WriteString("camera", vm.Camera);
                json.WriteString("camera_state", vm.CameraState);
                json.WriteString("policy", CtlText.PolicyWord(vm.Policy, vm.Allowed));
                json.WriteString("stream_answer", vm.StreamAnswer);
                if (vm.Request is { } request)
                {
                    json.WritePropertyName("request");
                    WriteRequest(json, request);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    /// <summary><c>{"vm":"vm1","allowed":false,"changed":true,"effective_by":"sidecar-ack"}</c>.</summary>
    public static string Permission(PermissionSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        return Write(json =>
        {
            json.WriteStartObject();
            json.WriteString("vm", set.Vm);
            json.WriteBoolean("allowed", set.Allowed);
            json.WriteBoolean("changed", set.Changed);
            json.WriteString("effective_by", set.EffectiveBy);
            json.WriteString("policy", CtlText.PolicyWord(set.Policy, set.Allowed));
            json.WriteEndObject();
        });
    }

    /// <summary><c>{"vm":"vm1","request_id":3,"answer":"allow-once","allowed":true,"effective_by":"allowed"}</c>.</summary>
    public static string Answer(RequestAnswered answered)
    {
        ArgumentNullException.ThrowIfNull(answered);
        return Write(json =>
        {
            json.WriteStartObject();
            json.WriteString("vm", answered.Vm);
            json.WriteNumber("request_id", answered.RequestId);
            json.WriteString("answer", AnswerWord(answered.Answer));
            json.WriteBoolean("allowed", answered.Allowed);
            json.WriteString("effective_by", answered.EffectiveBy);
            json.WriteEndObject();
        });
    }

    /// <summary><c>{"vm":"vm1","camera":"usb","changed":true}</c>.</summary>
    public static string Assigned(CameraAssigned assigned)
    {
        ArgumentNullException.ThrowIfNull(assigned);
        return Write(json =>
        {
            json.WriteStartObject();
            json.WriteString("vm", assigned.Vm);
            json.WriteString("camera", assigned.Camera);
            json.WriteBoolean("changed", assigned.Changed);
            json.WriteEndObject();
        });
    }

    /// <summary><c>{"requests":[{"id":3,"vm":...,"camera":...,"guest_format":...,...}]}</c>, oldest first.</summary>
    public static string Requests(RequestList list)
    {
        ArgumentNullException.ThrowIfNull(list);
        return Write(json =>
        {
            json.WriteStartObject();
            json.WriteStartArray("requests");
            foreach (var request in list.Requests)
            {
                WriteRequest(json, request);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    /// <summary><c>{"cameras":[{"name":...,"device":...,"state":...,"vms":[...],"receiving_vms":[...],...}]}</c>.</summary>
    public static string Cameras(CameraList list)
    {
        ArgumentNullException.ThrowIfNull(list);
        return Write(json =>
        {
            json.WriteStartObject();
            json.WriteStartArray("cameras");
            foreach (var camera in list.Cameras)
            {
                json.WriteStartObject();
                json.WriteString("name", camera.Name);
                json.WriteString("device", camera.Device);
                json.WriteString("state", camera.State);
                json.WriteString("description", camera.Description);
                json.WriteStartArray("vms");
                foreach (var vm in camera.Vms)
                {
                    json.WriteStringValue(vm);
                }

                json.WriteEndArray();
                json.WriteStartArray("receiving_vms");
                foreach (var vm in camera.ReceivingVms)
                {
                    json.WriteStringValue(vm);
                }

                json.WriteEndArray();
                json.WriteNumber("frames", camera.Frames);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    /// <summary>allow-once, allow-always, deny-once, deny-always.</summary>
    internal static string AnswerWord(Answer answer) => answer switch
    {
        Protocol.Operator.Answer.AllowOnce => "allow-once",
        Protocol.Operator.Answer.AllowAlways => "allow-always",
        Protocol.Operator.Answer.DenyOnce => "deny-once",
        Protocol.Operator.Answer.DenyAlways => "deny-always",
        _ => "unspecified",
    };

    private static void WriteRequest(Utf8JsonWriter json, CameraRequest request)
    {
        json.WriteStartObject();
        json.WriteNumber("id", request.Id);
        json.WriteString("vm", request.Vm);
        json.WriteString("camera", request.Camera);
        json.WriteString("guest_format", request.GuestFormat);
        json.WriteNumber("width", request.Width);
        json.WriteNumber("height", request.Height);
        json.WriteNumber("interval_numerator", request.IntervalNumerator);
        json.WriteNumber("interval_denominator", request.IntervalDenominator);
        json.WriteNumber("time_unix_ms", request.TimeUnixMs);
        json.WriteNumber("deadline_unix_ms", request.DeadlineUnixMs);
        json.WriteEndObject();
    }

    /// <summary>One event: <c>{"time_unix_ms":...,"vm":"vm1","event":"permission-changed","allowed":false,"uid":0}</c>.</summary>
    public static string Event(Event e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return Write(json =>
        {
            json.WriteStartObject();
            json.WriteNumber("time_unix_ms", e.TimeUnixMs);
            json.WriteString("vm", e.Vm);
            switch (e.KindCase)
            {
                case Protocol.Operator.Event.KindOneofCase.PermissionChanged:
                    json.WriteString("event", "permission-changed");
                    json.WriteBoolean("allowed", e.PermissionChanged.Allowed);
                    json.WriteNumber("uid", e.PermissionChanged.Uid);
                    json.WriteString("policy", CtlText.PolicyWord(e.PermissionChanged.Policy, e.PermissionChanged.Allowed));
                    break;
                case Protocol.Operator.Event.KindOneofCase.RequestRaised:
                    json.WriteString("event", "request-raised");
                    json.WritePropertyName("request");
                    WriteRequest(json, e.RequestRaised);
                    break;
                case Protocol.Operator.Event.KindOneofCase.RequestClosed:
                    json.WriteString("event", "request-closed");
                    json.WriteNumber("request_id", e.RequestClosed.RequestId);
                    json.WriteString("outcome", e.RequestClosed.Outcome);
                    json.WriteNumber("uid", e.RequestClosed.Uid);
                    break;
                case Protocol.Operator.Event.KindOneofCase.RealFrames:
                    json.WriteString("event", e.RealFrames.Receiving ? "real-frames-started" : "real-frames-stopped");
                    json.WriteString("camera", e.RealFrames.Camera);
                    break;
                case Protocol.Operator.Event.KindOneofCase.CameraChanged:
                    json.WriteString("event", "camera-changed");
                    json.WriteString("camera", e.CameraChanged.Camera);
                    json.WriteNumber("uid", e.CameraChanged.Uid);
                    break;
                case Protocol.Operator.Event.KindOneofCase.StreamStarted:
                    json.WriteString("event", "stream-started");
                    json.WriteString("guest_format", e.StreamStarted.GuestFormat);
                    json.WriteBoolean("real", e.StreamStarted.Real);
                    break;
                case Protocol.Operator.Event.KindOneofCase.StreamStopped:
                    json.WriteString("event", "stream-stopped");
                    json.WriteString("reason", e.StreamStopped.Reason);
                    break;
                default:
                    json.WriteString("event", "unknown");
                    break;
            }

            json.WriteEndObject();
        });
    }

    /// <summary><c>{"entries":[{"time_unix_ms":...,"vm":...,"action":...,"uid":...,"detail":...}]}</c>, oldest first.</summary>
    public static string Audit(IEnumerable<AuditEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return Write(json =>
        {
            json.WriteStartObject();
            json.WriteStartArray("entries");
            foreach (var entry in entries)
            {
                json.WriteStartObject();
                json.WriteNumber("time_unix_ms", entry.TimeUnixMs);
                json.WriteString("vm", entry.Vm);
                json.WriteString("action", entry.Action);
                json.WriteNumber("uid", entry.Uid);
                json.WriteString("detail", entry.Detail);
                if (entry.RequestId != 0)
                {
                    json.WriteNumber("request_id", entry.RequestId);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        });
    }

    private static string Write(Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            write(json);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
