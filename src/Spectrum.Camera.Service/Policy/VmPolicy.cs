namespace Spectrum.Camera.Service.Policy;

/// <summary>
/// A VM's standing camera policy, who last changed it, and the camera it is assigned (null: the service's first
/// camera). <c>default</c> is the policy of a VM nobody has set: denied, never changed (ChangedUnixMs 0), no camera.
/// </summary>
public readonly record struct VmPolicy(CameraPermission Permission, long ChangedUnixMs, uint ChangedByUid, string? Camera = null)
{
    /// <summary>The policy allows real frames without asking.</summary>
    public bool Allowed => Permission == CameraPermission.Allow;

    /// <summary>True once an operator has set this VM's permission.</summary>
    public bool EverChanged => ChangedUnixMs != 0;
}
