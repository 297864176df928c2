using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol.Producer;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.Service;

/// <summary>
/// One camera VM's producer sidecar connection (protocol/producer.proto), bound to the camera VM whose producer
/// socket it came through. It carries no fds to the service (any is a protocol error); the service sends it Demand
/// and, with SCM_RIGHTS, the ring for its stream. See <see cref="PeerSession{TIn,TOut}"/>.
/// </summary>
internal sealed class ProducerSession(
    VmRecord vm, UnixSocket socket, int peerPid, uint peerUid, EventLoop loop,
    Action<ProducerSession, ProducerMessage> onMessage, Action<ProducerSession, string> onClosed)
    : PeerSession<ProducerMessage, ServiceToProducer>(vm, socket, peerPid, peerUid, loop)
{
    public override string PeerKind => "producer";

    /// <summary>Rate-limited: the camera VM is a guest, and a hostile one may reconnect and misbehave every second.</summary>
    protected override void LogFault(string message) => Log.GuestFault("service", $"camera-vm {Vm.Name} refused", message);

    protected override ServiceToProducer RefusedMessage(string reason) => new() { Refused = new ProducerRefused { Reason = reason } };

    protected override void OnMessage(ProducerMessage message) => onMessage(this, message);

    protected override void OnClosed(string reason) => onClosed(this, reason);
}
