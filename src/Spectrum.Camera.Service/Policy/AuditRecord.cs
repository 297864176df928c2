using System.Text.Json.Serialization;

namespace Spectrum.Camera.Service.Policy;

/// <summary>
/// One line of STATE_DIR/audit.log: when, which VM, what (<see cref="AuditActions"/>), who (the operator's uid for
/// policy changes and answers, the sidecar's uid for streams and requests, the service's for timeouts) and free text
/// (the stream format, the camera, the effect of a deny...). <see cref="RequestId"/> ties the lines of one ask-mode
/// request together; it is left out of the line when 0, so lines written before ask mode read the same.
/// </summary>
public sealed record AuditRecord(
    long TimeUnixMs,
    string Vm,
    string Action,
    uint Uid,
    string Detail,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] ulong RequestId = 0);

/// <summary>The actions in the audit log (the <c>action</c> field of each line).</summary>
public static class AuditActions
{
    public const string Allow = "allow";
    public const string Deny = "deny";
    public const string Ask = "ask";
    public const string Request = "request";
    public const string AllowOnce = "allow-once";
    public const string DenyOnce = "deny-once";
    public const string RequestTimeout = "request-timeout";
    public const string RequestWithdrawn = "request-withdrawn";
    public const string Assign = "assign";
    public const string RealStreamStart = "real-stream-start";
    public const string RealStreamStop = "real-stream-stop";
}
