using System.Text.Json.Serialization;

namespace Spectrum.Camera.Service.Policy;

/// <summary>
/// STATE_DIR/policy.json, version 2:
/// <c>{"version":2,"vms":{"vm1":{"permission":"ask","changed_unix_ms":...,"changed_by_uid":0,"camera":"usb"}}}</c>.
/// Version 1 (written before ask mode and several cameras) had <c>"allowed":true|false</c> instead of permission and
/// no camera; it is read and rewritten as version 2.
/// </summary>
internal sealed class PolicyFile
{
    public int Version { get; set; }

    public Dictionary<string, PolicyFileEntry>? Vms { get; set; }
}

/// <summary>One VM in policy.json.</summary>
internal sealed class PolicyFileEntry
{
    /// <summary>"allow", "deny" or "ask" (version 2).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Permission { get; set; }

    /// <summary>Version 1 only.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Allowed { get; set; }

    public long ChangedUnixMs { get; set; }

    public uint ChangedByUid { get; set; }

    /// <summary>The assigned camera's name; absent for the service's first camera.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Camera { get; set; }
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
