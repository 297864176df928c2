namespace Spectrum.Camera.Service.Policy;

/// <summary>
/// One line of STATE_DIR/audit.log: when, which VM, what (<see cref="AuditActions"/>), who (the operator's uid for
/// allow/deny, the sidecar's uid for streams) and free text (the stream format, the effect of a deny...).
/// </summary>
public sealed record AuditRecord(long TimeUnixMs, string Vm, string Action, uint Uid, string Detail);

/// <summary>The actions in the audit log (the <c>action</c> field of each line).</summary>
public static class AuditActions
{
    public const string Allow = "allow";
    public const string Deny = "deny";
    public const string RealStreamStart = "real-stream-start";
    public const string RealStreamStop = "real-stream-stop";
}
