using System.Globalization;
using System.Text;
using Spectrum.Camera.Protocol.Operator;

namespace Spectrum.Camera.Cli.Ctl;

/// <summary>ctl's human output: the status table, allow/deny results, watch events and audit lines (local time).</summary>
internal static class CtlText
{
    private static readonly string[] StatusHeader = ["VM", "PERMISSION", "SIDECAR", "STREAM", "REAL", "BLACK", "CAMERA", "LAST CHANGE"];

    /// <summary>The status of each VM as an aligned table with a header row.</summary>
    public static string StatusTable(StatusList list)
    {
        ArgumentNullException.ThrowIfNull(list);
        var rows = new List<string[]> { StatusHeader };
        foreach (var vm in list.Vms)
        {
            rows.Add([
                vm.Vm,
                vm.Allowed ? "allow" : "deny",
                vm.SidecarConnected ? "connected" : "-",
                vm.Streaming && vm.GuestFormat.Length > 0 ? vm.GuestFormat : vm.Streaming ? "streaming" : "-",
                vm.RealFrames.ToString(CultureInfo.InvariantCulture),
                vm.BlackFrames.ToString(CultureInfo.InvariantCulture),
                vm.CameraState.Length > 0 ? vm.CameraState : "-",
                vm.LastChangeUnixMs == 0
                    ? "-"
                    : $"{LocalTime(vm.LastChangeUnixMs)} uid {vm.LastChangeUid.ToString(CultureInfo.InvariantCulture)}",
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
        var state = set.Allowed ? "allowed" : "denied";
        if (!set.Changed)
        {
            return $"{set.Vm}: already {state} (no change)";
        }

        var effect = EffectiveBy(set.EffectiveBy);
        return effect.Length == 0 ? $"{set.Vm}: {state}" : $"{set.Vm}: {state} (effective: {effect})";
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
        var what = e.KindCase switch
        {
            Event.KindOneofCase.PermissionChanged =>
                $"{(e.PermissionChanged.Allowed ? "allowed" : "denied")} by uid {e.PermissionChanged.Uid.ToString(CultureInfo.InvariantCulture)}",
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
        return entry.Detail.Length == 0 ? line : $"{line} {entry.Detail}";
    }

    /// <summary>A Unix time in milliseconds as local time.</summary>
    internal static string LocalTime(long unixMs, string format = "yyyy-MM-dd HH:mm:ss") =>
        DateTimeOffset.FromUnixTimeMilliseconds(unixMs).ToLocalTime().ToString(format, CultureInfo.InvariantCulture);

    private static string Or(string value, string fallback) => value.Length == 0 ? fallback : value;
}
