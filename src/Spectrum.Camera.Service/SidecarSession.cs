using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.Service;

/// <summary>
/// One consumer VM's sidecar connection (protocol/camera_service.proto): what the service told it and what its guest
/// streams. Frame notices it has no room for are dropped (they would be stale anyway); see <see cref="PeerSession{TIn,TOut}"/>.
/// </summary>
internal sealed class SidecarSession(
    VmRecord vm, UnixSocket socket, int peerPid, uint peerUid, EventLoop loop,
    Action<SidecarSession, SidecarMessage> onMessage, Action<SidecarSession, string> onClosed)
    : PeerSession<SidecarMessage, ServiceMessage>(vm, socket, peerPid, peerUid, loop)
{
    /// <summary>What the sidecar was last told (Welcome, Permission): whether it may show real frames.</summary>
    public bool ToldAllowed { get; set; }

    /// <summary>What the guest streams, while it does.</summary>
    public StreamRequest? Request { get; set; }

    /// <summary>Real frames announced to this sidecar (FrameReady sent).</summary>
    public ulong FramesOffered { get; private set; }

    /// <summary>Frame notices dropped because the sidecar's queue was full.</summary>
    public ulong NoticesDropped => Dropped;

    public override string PeerKind => "sidecar";

    /// <summary>Sends a frame notice; when the sidecar's queue is full the notice is dropped (it would be stale anyway).</summary>
    public bool SendFrameNotice(ServiceMessage message)
    {
        if (!SendDroppable(message))
        {
            return false;
        }

        FramesOffered++;
        return true;
    }

    protected override ServiceMessage RefusedMessage(string reason) => new() { Refused = new Refused { Reason = reason } };

    protected override void OnMessage(SidecarMessage message) => onMessage(this, message);

    protected override void OnClosed(string reason) => onClosed(this, reason);
}
