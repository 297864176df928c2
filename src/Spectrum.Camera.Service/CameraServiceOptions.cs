using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Service;

/// <summary>
/// What `spectrum-camera camera-service` was told: where its sockets and state live, which cameras (the first is the
/// default for VMs nobody assigned; some may be camera VMs), which VMs, who operates it.
/// </summary>
public sealed record CameraServiceOptions(
    string RuntimeDirectory,
    string StateDirectory,
    IReadOnlyList<CameraConfig> Cameras,
    IReadOnlyList<VmConfig> Vms,
    IReadOnlyCollection<uint> OperatorUids,
    uint? OperatorGid)
{
    /// <summary>How long a deny waits for the sidecar's PermissionAck before closing its connection.</summary>
    public TimeSpan DenyAckTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long an ask-mode request waits for an operator's answer before the stream is denied.</summary>
    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Slots per frame ring: a reader may fall this many frames behind before its copy can tear.</summary>
    public int RingSlots { get; init; } = 4;

    public string VmSocketDirectory => Path.Combine(RuntimeDirectory, "vms");

    public string OperatorSocketPath => Path.Combine(RuntimeDirectory, "operator.sock");

    public string VmSocketPath(string vm) => Path.Combine(VmSocketDirectory, vm + ".sock");

    /// <summary>Where camera VMs' producer sockets are.</summary>
    public string ProducerSocketDirectory => Path.Combine(RuntimeDirectory, "producers");

    /// <summary>The producer socket of camera VM <paramref name="vm"/>.</summary>
    public string ProducerSocketPath(string vm) => Path.Combine(ProducerSocketDirectory, vm + ".sock");
}
