using System.Text.Json.Serialization;

namespace Spectrum.Camera.Service.Policy;

/// <summary>STATE_DIR/policy.json: <c>{"version":1,"vms":{"vm1":{"allowed":true,"changed_unix_ms":...,"changed_by_uid":0}}}</c>.</summary>
internal sealed class PolicyFile
{
    public int Version { get; set; }

    public Dictionary<string, PolicyFileEntry>? Vms { get; set; }
}

/// <summary>One VM in policy.json.</summary>
internal sealed class PolicyFileEntry
{
    public bool Allowed { get; set; }

    public long ChangedUnixMs { get; set; }

    public uint ChangedByUid { get; set; }
}

/// <summary>
/// Source-generated (AOT-safe) JSON for policy.json and audit.log lines: snake_case names, and nulls or missing
/// constructor arguments are errors, so a damaged audit line is rejected rather than read as an empty record.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(PolicyFile))]
[JsonSerializable(typeof(AuditRecord))]
internal sealed partial class PolicyJsonContext : JsonSerializerContext;
