using Spectrum.Camera.Protocol.Service;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.ServiceClient;

/// <summary>The consumer sidecar's connection (protocol/camera_service.proto): Hello, Welcome, Refused, rings in RingAttached.</summary>
internal sealed class CameraServiceConnection(EventLoop loop, string socketPath, string vm, IServiceSession<ServiceMessage> session)
    : ServiceConnection<ServiceMessage, SidecarMessage>(loop, socketPath, vm, session)
{
    protected override string WhileAway => "rendering black";

    protected override string WelcomeName => "Welcome";

    protected override SidecarMessage Hello() => new() { Hello = new Hello { ProtocolVersion = ServiceProtocol.Version, Vm = Vm } };

    protected override Role RoleOf(ServiceMessage message) => message.KindCase switch
    {
        ServiceMessage.KindOneofCase.Welcome => Role.Welcome,
        ServiceMessage.KindOneofCase.Refused => Role.Refused,
        ServiceMessage.KindOneofCase.RingAttached => Role.WithFd,
        _ => Role.Plain,
    };

    protected override string NameOf(ServiceMessage message) => message.KindCase.ToString();

    protected override string RefusalOf(ServiceMessage message) => message.Refused.Reason;

    protected override (uint ProtocolVersion, string Vm) IdentityOf(ServiceMessage welcome) => (welcome.Welcome.ProtocolVersion, welcome.Welcome.Vm);

    protected override string DescribeWelcome(ServiceMessage welcome) =>
        $"connected to the camera service at {SocketPath}: camera " +
        $"{(welcome.Welcome.Allowed ? "allowed" : "denied (black frames)")} for this VM (generation {welcome.Welcome.Generation})";
}
