using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Service;

/// <summary>The service's view of one configured VM: its identity, its sidecar (if connected) and what it reported.</summary>
internal sealed class VmRecord(VmConfig config)
{
    public VmConfig Config { get; } = config;

    public string Name => Config.Name;

    /// <summary>The connected sidecar, if any (at most one per VM).</summary>
    public SidecarSession? Session { get; set; }

    /// <summary>Counts permission changes sent to sidecars; a PermissionAck names the one it applied.</summary>
    public ulong Generation { get; set; } = 1;

    /// <summary>Whether the VM currently receives real frames (allowed, streaming, in a camera output group).</summary>
    public bool ReceivesRealFrames { get; set; }

    /// <summary>An operator's once answer for the current stream (it ends with the stream).</summary>
    public StreamAnswer StreamAnswer { get; set; }

    /// <summary>The ask-mode request of the current stream while it waits for an answer.</summary>
    public AccessRequest? OpenRequest { get; set; }

    /// <summary>Camera frames the sidecar says it wrote into the guest (StreamCounters).</summary>
    public ulong ReportedCameraFrames { get; set; }

    /// <summary>Black frames the sidecar says it wrote into the guest.</summary>
    public ulong ReportedBlackFrames { get; set; }

    /// <summary>Camera frames of earlier streams (since the service started).</summary>
    public ulong TotalCameraFrames { get; set; }

    /// <summary>Black frames of earlier streams (since the service started).</summary>
    public ulong TotalBlackFrames { get; set; }

    /// <summary>Real frames announced to this VM's sidecars since the service started.</summary>
    public ulong FramesOffered { get; set; }
}
