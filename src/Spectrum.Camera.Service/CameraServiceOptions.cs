using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Service;

/// <summary>What `spectrum-camera camera-service` was told: where its sockets and state live, which camera, which VMs.</summary>
public sealed record CameraServiceOptions(
    string RuntimeDirectory,
    string StateDirectory,
    string Camera,
    IReadOnlyList<VmConfig> Vms,
    IReadOnlyCollection<uint> OperatorUids,
    uint? OperatorGid)
{
    /// <summary>How long a deny waits for the sidecar's PermissionAck before closing its connection.</summary>
    public TimeSpan DenyAckTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Slots per frame ring: a reader may fall this many frames behind before its copy can tear.</summary>
    public int RingSlots { get; init; } = 4;

    public string VmSocketDirectory => Path.Combine(RuntimeDirectory, "vms");

    public string OperatorSocketPath => Path.Combine(RuntimeDirectory, "operator.sock");

    public string VmSocketPath(string vm) => Path.Combine(VmSocketDirectory, vm + ".sock");
}
