namespace Spectrum.Camera.Service.Policy;

/// <summary>
/// A VM's camera permission and who last changed it. <c>default</c> is the policy of a VM nobody has allowed yet:
/// denied, never changed (ChangedUnixMs 0).
/// </summary>
public readonly record struct VmPolicy(bool Allowed, long ChangedUnixMs, uint ChangedByUid)
{
    /// <summary>True once an operator has set this VM's permission (it has an entry in policy.json).</summary>
    public bool EverChanged => ChangedUnixMs != 0;
}
