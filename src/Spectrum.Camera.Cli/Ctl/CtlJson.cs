using System.Text;
using System.Text.Json;
using Spectrum.Camera.Protocol.Operator;

namespace Spectrum.Camera.Cli.Ctl;

/// <summary>
/// ctl's --json output, written field by field (AOT-safe, and the field names are the .proto's snake_case ones):
/// one object for status, allow/deny and audit; one object per line for watch.
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
            json.WriteEndObject();
        });
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
