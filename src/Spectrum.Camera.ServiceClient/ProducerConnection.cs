using Spectrum.Camera.Protocol.Producer;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.ServiceClient;

/// <summary>
/// The producer sidecar's connection (protocol/producer.proto): ProducerHello, ProducerWelcome, ProducerRefused, the
/// frame ring in ProducerRing.
/// </summary>
internal sealed class ProducerConnection(EventLoop loop, string socketPath, string vm, IServiceSession<ServiceToProducer> session)
    : ServiceConnection<ServiceToProducer, ProducerMessage>(loop, socketPath, vm, session)
{
    protected override string WhileAway => "no frames reach the service and none are wanted";

    protected override string WelcomeName => "ProducerWelcome";

    protected override ProducerMessage Hello() => new() { Hello = new ProducerHello { ProtocolVersion = ServiceProtocol.Version, Vm = Vm } };

    protected override Role RoleOf(ServiceToProducer message) => message.KindCase switch
    {
        ServiceToProducer.KindOneofCase.Welcome => Role.Welcome,
        ServiceToProducer.KindOneofCase.Refused => Role.Refused,
        ServiceToProducer.KindOneofCase.Ring => Role.WithFd,
        _ => Role.Plain,
    };

    protected override string NameOf(ServiceToProducer message) => message.KindCase switch
    {
        ServiceToProducer.KindOneofCase.Ring => "ProducerRing",
        ServiceToProducer.KindOneofCase.None => "an empty message",
        var kind => kind.ToString(),
    };

    protected override string RefusalOf(ServiceToProducer message) => message.Refused.Reason;

    protected override (uint ProtocolVersion, string Vm) IdentityOf(ServiceToProducer welcome) => (welcome.Welcome.ProtocolVersion, welcome.Welcome.Vm);

    protected override string DescribeWelcome(ServiceToProducer welcome) =>
        $"connected to the camera service at {SocketPath}: this VM is the producer of camera '{welcome.Welcome.Camera}'";
}
