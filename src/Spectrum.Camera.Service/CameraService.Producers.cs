using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Protocol.Producer;
using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Service;

/// <summary>
/// Camera VMs: the producer socket of each VM the operator named as a camera, who may connect through it, and the
/// handshake, after which the camera's <see cref="ProducerCameraFeed"/> takes the connection's messages.
/// </summary>
public sealed partial class CameraService
{
    /// <summary>Records a camera that is a camera VM; the VM must be configured (its uid owns the producer socket).</summary>
    private void AddCameraVm(CameraConfig camera, ProducerCameraFeed feed)
    {
        if (!_vms.TryGetValue(feed.Vm, out var vm))
        {
            throw new ArgumentException(
                $"camera {camera.Name} is the camera VM {feed.Vm}, which is not configured: add --vm {feed.Vm}:UID " +
                "(the uid its producer sidecar runs as)", nameof(camera));
        }

        if (_cameraVms.TryGetValue(vm.Name, out var other))
        {
            throw new ArgumentException(
                $"VM {vm.Name} is named as two cameras ({other.Camera} and {camera.Name}): a camera VM is one camera", nameof(camera));
        }

        _cameraVms.Add(vm.Name, new CameraVm(vm, camera.Name, feed));
    }

    /// <summary>Creates each camera VM's producer socket, owned by the VM's uid, mode 0600.</summary>
    private void ListenForProducers()
    {
        if (_cameraVms.Count == 0)
        {
            return;
        }

        Directory.CreateDirectory(_options.ProducerSocketDirectory);
        File.SetUnixFileMode(_options.ProducerSocketDirectory,
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        foreach (var cameraVm in _cameraVms.Values)
        {
            var path = _options.ProducerSocketPath(cameraVm.Vm.Name);
            var listener = Listen(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            PosixFiles.Chown(path, cameraVm.Vm.Config.Uid);
            _loop.Watch(listener.Fd, () => AcceptProducer(cameraVm, listener));
            Log.Info("service", $"camera {cameraVm.Camera}: camera VM {cameraVm.Vm.Name}, producer socket {path} (uid {cameraVm.Vm.Config.Uid})");
        }
    }

    private void AcceptProducer(CameraVm cameraVm, UnixSocket listener)
    {
        var vm = cameraVm.Vm;
        if (AcceptPeer(vm, "camera VM", listener, cameraVm.Session, (socket, pid, uid) => new ProducerSession(vm, socket, pid, uid, _loop,
                (s, message) => OnProducerMessage(cameraVm, s, message), (s, reason) => OnProducerClosed(cameraVm, s, reason))) is { } session)
        {
            cameraVm.Session = session;
        }
    }

    private static void OnProducerMessage(CameraVm cameraVm, ProducerSession session, ProducerMessage message)
    {
        if (session.Welcomed)
        {
            cameraVm.Feed.OnMessage(session, message);
            return;
        }

        var vm = cameraVm.Vm;
        if (message.KindCase != ProducerMessage.KindOneofCase.Hello)
        {
            session.Refuse($"expected ProducerHello first, got {message.KindCase}");
        }
        else if (message.Hello.ProtocolVersion != ProducerCameraFeed.ProtocolVersion)
        {
            session.Refuse($"protocol version {message.Hello.ProtocolVersion} is not supported (this service speaks {ProducerCameraFeed.ProtocolVersion})");
        }
        else if (message.Hello.Vm != vm.Name)
        {
            session.Refuse($"this producer socket belongs to camera VM {vm.Name}; a producer for '{message.Hello.Vm}' must use that VM's socket");
        }
        else
        {
            session.Welcomed = true;
            if (session.Send(new ServiceToProducer
                {
                    Welcome = new ProducerWelcome { ProtocolVersion = ProducerCameraFeed.ProtocolVersion, Vm = vm.Name, Camera = cameraVm.Camera },
                }))
            {
                Log.Info("service", $"camera {cameraVm.Camera}: camera VM {vm.Name}'s producer connected (pid {session.PeerPid}, uid {session.PeerUid})");
                cameraVm.Feed.Connect(session);
            }
        }
    }

    private static void OnProducerClosed(CameraVm cameraVm, ProducerSession session, string reason)
    {
        if (ReferenceEquals(cameraVm.Session, session))
        {
            cameraVm.Session = null;
        }

        if (session.Welcomed)
        {
            cameraVm.Feed.Disconnected(session, reason);
        }
    }
}
