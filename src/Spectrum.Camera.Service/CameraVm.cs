using Spectrum.Camera.Service.Feeds;

namespace Spectrum.Camera.Service;

/// <summary>
/// A VM the operator named as a camera (<c>--camera NAME=vm:VM</c>): the camera it is, its feed, and the producer
/// sidecar connected through its producer socket (at most one at a time). Only such VMs get a producer socket, so a
/// VM can never make itself a camera.
/// </summary>
internal sealed class CameraVm(VmRecord vm, string camera, ProducerCameraFeed feed)
{
    public VmRecord Vm { get; } = vm;

    /// <summary>The camera name consumers know it by.</summary>
    public string Camera { get; } = camera;

    public ProducerCameraFeed Feed { get; } = feed;

    /// <summary>The producer connection, welcomed or not yet, if any.</summary>
    public ProducerSession? Session { get; set; }
}
