namespace Spectrum.Camera.Service.Policy;

/// <summary>A VM's standing camera policy. The default (an unknown VM, or one nobody has set) is <see cref="Deny"/>.</summary>
public enum CameraPermission
{
    /// <summary>Black frames only.</summary>
    Deny,

    /// <summary>Real frames whenever the VM streams.</summary>
    Allow,

    /// <summary>Each stream raises a request an operator answers (black frames until allowed).</summary>
    Ask,
}

/// <summary>The words policy.json, the audit log and ctl use for a <see cref="CameraPermission"/>.</summary>
public static class CameraPermissions
{
    public static string ToWord(this CameraPermission permission) => permission switch
    {
        CameraPermission.Allow => "allow",
        CameraPermission.Ask => "ask",
        _ => "deny",
    };

    /// <summary>"allow", "deny" or "ask"; anything else is null.</summary>
    public static CameraPermission? Parse(string? word) => word switch
    {
        "allow" => CameraPermission.Allow,
        "deny" => CameraPermission.Deny,
        "ask" => CameraPermission.Ask,
        _ => null,
    };
}
