using System.Globalization;
using System.Text;
using Spectrum.Camera.Protocol.Operator;

namespace Spectrum.Camera.Cli.Ctl;

/// <summary>
/// ctl's human output: the status, request and camera tables, the results of allow, deny, ask, assign and answers,
/// watch events and audit lines (local time).
/// </summary>
internal static class CtlText
{
    private static readonly string[] StatusHeader =
        ["VM", "PERMISSION", "SIDECAR", "STREAM", "REAL", "BLACK", "CAMERA", "STATE", "LAST CHANGE"];

    private static readonly string[] RequestHeader = ["REQUEST", "VM", "CAMERA", "FORMAT", "ASKED", "LEFT"];

    private static readonly string[] CameraHeader = ["CAMERA", "DEVICE", "STATE", "ASSIGNED", "RECEIVING", "FRAMES"];

    /// <summary>The status of each VM as an aligned table with a header row.</summary>
    public static string StatusTable(StatusList list)
    {
        ArgumentNullException.ThrowIfNull(list);
        var rows = new List<string[]> { StatusHeader };
        foreach (var vm in list.Vms)
        {
            rows.Add([
                vm.Vm,
                PermissionCell(vm),
                vm.SidecarConnected ? "connected" : "-",
                vm.Streaming && vm.GuestFormat.Length > 0 ? vm.GuestFormat : vm.Streaming ? "streaming" : "-",
                vm.RealFrames.ToString(CultureInfo.InvariantCulture),
                vm.BlackFrames.ToString(CultureInfo.InvariantCulture),
                Or(vm.Camera, "-"),
                vm.CameraState.Length > 0 ? vm.CameraState : "-",
                vm.LastChangeUnixMs == 0
                    ? "-"
                    : $"{LocalTime(vm.LastChangeUnixMs)} uid {vm.LastChangeUid.ToString(CultureInfo.InvariantCulture)}",
            ]);
        }

        return Table(rows);
    }

    /// <summary>The policy, and a once answer that holds the current stream: "ask", "ask/allow-once", "deny".</summary>
    internal static string PermissionCell(VmStatus vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        var policy = PolicyWord(vm.Policy, vm.Allowed);
        return vm.StreamAnswer.Length == 0 ? policy : $"{policy}/{vm.StreamAnswer}";
    }

    /// <summary>"allow", "deny" or "ask"; a service that sends no policy is read from its allowed flag.</summary>
    internal static string PolicyWord(Policy policy, bool allowed) => policy switch
    {
        Policy.Ask => "ask",
        Policy.Allow => "allow",
        Policy.Deny => "deny",
        _ => allowed ? "allow" : "deny",
    };

    /// <summary>The open requests as a table (LEFT: seconds until they are denied unanswered), or a line saying there are none.</summary>
    public static string RequestTable(RequestList list, long nowUnixMs)
    {
        ArgumentNullException.ThrowIfNull(list);
        if (list.Requests.Count == 0)
        {
            return "no open requests\n";
        }

        var rows = new List<string[]> { RequestHeader };
        foreach (var r in list.Requests)
        {
            rows.Add([
                r.Id.ToString(CultureInfo.InvariantCulture),
                r.Vm,
                r.Camera,
                r.GuestFormat,
                LocalTime(r.TimeUnixMs, "HH:mm:ss"),
                $"{SecondsLeft(r, nowUnixMs).ToString(CultureInfo.InvariantCulture)} s",
            ]);
        }

        return Table(rows);
    }

    /// <summary>Whole seconds until <paramref name="request"/> is denied unanswered (0 once past).</summary>
    internal static long SecondsLeft(CameraRequest request, long nowUnixMs) =>
        Math.Max(0, (request.DeadlineUnixMs - nowUnixMs + 999) / 1000);

    /// <summary>The service's cameras as a table; the first is marked as every unassigned VM's default.</summary>
    public static string CameraTable(CameraList list)
    {
        ArgumentNullException.ThrowIfNull(list);
        var rows = new List<string[]> { CameraHeader };
        for (var i = 0; i < list.Cameras.Count; i++)
        {
            var c = list.Cameras[i];
            rows.Add([
                i == 0 ? $"{c.Name} (default)" : c.Name,
                c.Device,
                c.State,
                c.Vms.Count == 0 ? "-" : string.Join(",", c.Vms),
                c.ReceivingVms.Count == 0 ? "-" : string.Join(",", c.ReceivingVms),
                c.Frames.ToString(CultureInfo.InvariantCulture),
            ]);
        }

        return Table(rows);
    }

    /// <summary>Rows as columns padded to their widest cell, two spaces apart, no trailing blanks.</summary>
    internal static string Table(IReadOnlyList<string[]> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var columns = rows.Max(r => r.Length);
        var widths = new int[columns];
        foreach (var row in rows)
        {
            for (var c = 0; c < row.Length; c++)
            {
                widths[c] = Math.Max(widths[c], row[c].Length);
            }
        }

        var text = new StringBuilder();
        foreach (var row in rows)
        {
            var line = new StringBuilder();
            for (var c = 0; c < row.Length; c++)
            {
                line.Append(c == row.Length - 1 ? row[c] : row[c].PadRight(widths[c] + 2));
            }

            text.Append(line.ToString().TrimEnd()).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>"vm1: denied (effective: sidecar acknowledged)", or "vm1: already denied (no change)".</summary>
    public static string PermissionResult(PermissionSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        var state = set.Policy == Policy.Ask ? "set to ask (each stream asks an operator)" : set.Allowed ? "allowed" : "denied";
        if (!set.Changed)
        {
            return $"{set.Vm}: already {state} (no change)";
        }

        var effect = EffectiveBy(set.EffectiveBy);
        return effect.Length == 0 ? $"{set.Vm}: {state}" : $"{set.Vm}: {state} (effective: {effect})";
    }

    /// <summary>"vm1: allowed for this stream (request 3; effective: at once)".</summary>
    public static string AnswerResult(RequestAnswered answered)
    {
        ArgumentNullException.ThrowIfNull(answered);
        var what = AnswerWords(answered.Answer);
        var request = answered.RequestId == 0 ? "" : $"request {answered.RequestId.ToString(CultureInfo.InvariantCulture)}; ";
        return $"{answered.Vm}: {what} ({request}effective: {EffectiveBy(answered.EffectiveBy)})";
    }

    /// <summary>An answer in words: "allowed for this stream", "allowed from now on (policy allow)", ...</summary>
    internal static string AnswerWords(Answer answer) => answer switch
    {
        Answer.AllowOnce => "allowed for this stream",
        Answer.AllowAlways => "allowed from now on (policy allow)",
        Answer.DenyOnce => "denied for this stream",
        Answer.DenyAlways => "denied from now on (policy deny)",
        _ => answer.ToString(),
    };

    /// <summary>A request's outcome (RequestClosed.outcome) in words.</summary>
    internal static string OutcomeWords(string outcome) => outcome switch
    {
        "allow-once" => "allowed for this stream",
        "allow-always" => "allowed from now on",
        "deny-once" => "denied for this stream",
        "deny-always" => "denied from now on",
        "timeout" => "unanswered in time: denied for this stream",
        "withdrawn" => "withdrawn (the stream stopped first)",
        _ => outcome,
    };

    /// <summary>"vm1: now fed from camera usb", or "vm1: already on camera usb (no change)".</summary>
    public static string AssignResult(CameraAssigned assigned)
    {
        ArgumentNullException.ThrowIfNull(assigned);
        return assigned.Changed
            ? $"{assigned.Vm}: assigned camera {assigned.Camera} (a stream moves at that camera's next frame)"
            : $"{assigned.Vm}: already assigned camera {assigned.Camera} (no change)";
    }

    /// <summary>A request in one line: "vm1 asks for camera usb: NV12 640x480 30 fps (request 3)".</summary>
    public static string RequestLine(CameraRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return $"{request.Vm} asks for camera {request.Camera}: {Or(request.GuestFormat, "?")} (request {request.Id.ToString(CultureInfo.InvariantCulture)})";
    }

    /// <summary>PermissionSet.effective_by in words.</summary>
    internal static string EffectiveBy(string effectiveBy) => effectiveBy switch
    {
        "no-sidecar" => "no sidecar connected",
        "sidecar-ack" => "sidecar acknowledged",
        "sidecar-disconnected" => "sidecar disconnected",
        "allowed" => "at once",
        _ => effectiveBy,
    };

    /// <summary>One watch event: "12:34:56.789 vm1 denied by uid 1000".</summary>
    public static string EventLine(Event e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var uid = e.KindCase switch
        {
            Event.KindOneofCase.PermissionChanged => e.PermissionChanged.Uid,
            Event.KindOneofCase.RequestClosed => e.RequestClosed.Uid,
            Event.KindOneofCase.CameraChanged => e.CameraChanged.Uid,
            _ => 0u,
        };
        var by = $"by uid {uid.ToString(CultureInfo.InvariantCulture)}";
        var what = e.KindCase switch
        {
            Event.KindOneofCase.PermissionChanged => e.PermissionChanged.Policy == Policy.Ask
                ? $"set to ask {by}"
                : $"{(e.PermissionChanged.Allowed ? "allowed" : "denied")} {by}",
            Event.KindOneofCase.RequestRaised =>
                $"asks for camera {e.RequestRaised.Camera}: {Or(e.RequestRaised.GuestFormat, "?")} (request {e.RequestRaised.Id.ToString(CultureInfo.InvariantCulture)}, " +
                $"{SecondsLeft(e.RequestRaised, e.TimeUnixMs).ToString(CultureInfo.InvariantCulture)} s to answer)",
            Event.KindOneofCase.RequestClosed =>
                $"request {e.RequestClosed.RequestId.ToString(CultureInfo.InvariantCulture)} {OutcomeWords(e.RequestClosed.Outcome)}" +
                (e.RequestClosed.Outcome is "timeout" or "withdrawn" ? "" : $" {by}"),
            Event.KindOneofCase.RealFrames => e.RealFrames.Receiving
                ? $"receives real frames from camera {e.RealFrames.Camera}"
                : $"no longer receives real frames (camera {e.RealFrames.Camera})",
            Event.KindOneofCase.CameraChanged => $"assigned camera {e.CameraChanged.Camera} {by}",
            Event.KindOneofCase.StreamStarted =>
                $"stream started: {Or(e.StreamStarted.GuestFormat, "?")} ({(e.StreamStarted.Real ? "camera frames" : "black frames")})",
            Event.KindOneofCase.StreamStopped => $"stream stopped: {Or(e.StreamStopped.Reason, "-")}",
            _ => "unknown event",
        };
        return $"{LocalTime(e.TimeUnixMs, "HH:mm:ss.fff")} {e.Vm} {what}";
    }

    /// <summary>One audit entry: "2025-01-02 12:34:56 vm1 deny uid 1000 effective: sidecar-ack".</summary>
    public static string AuditLine(AuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var line = $"{LocalTime(entry.TimeUnixMs)} {entry.Vm} {entry.Action} uid {entry.Uid.ToString(CultureInfo.InvariantCulture)}";
        if (entry.RequestId != 0)
        {
            line += $" [request {entry.RequestId.ToString(CultureInfo.InvariantCulture)}]";
        }

        return entry.Detail.Length == 0 ? line : $"{line} {entry.Detail}";
    }

    /// <summary>A Unix time in milliseconds as local time.</summary>
    internal static string LocalTime(long unixMs, string format = "yyyy-MM-dd HH:mm:ss") =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).ToLocalTime().ToString(format, CultureInfo.InvariantCulture);

    private static string Or(string value, string fallback) => value.Length == 0 ? fallback : value;
}
