using Spectrum.Camera.Frames;
using Spectrum.Camera.ServiceClient;
using Spectrum.Camera.Tests.Media;
using static Spectrum.Camera.Tests.Media.V4l2Wire;

namespace Spectrum.Camera.Tests.Service;

/// <summary>A VM for the service tests: a real sidecar device fed by the camera-service client, and its guest streaming.</summary>
internal static class ServiceGuest
{
    /// <summary>A small, fast menu so the tests see many frames quickly.</summary>
    public static readonly StableMenu FastMenu = StableMenu.Parse("formats=YUYV,NV12,YU12;sizes=320x240,640x480;fps=60");

    /// <summary>The sidecar of <paramref name="vm"/>, connected to <paramref name="service"/> through the VM's socket.</summary>
    public static MediaHarness StartSidecar(ServiceFixture service, string vm) =>
        MediaHarness.Start(loop => new CameraServiceSource(loop, service.VmSocket(vm), vm), FastMenu);

    /// <summary>The guest sets a format (YUYV 320x240 unless told), queues six buffers and starts streaming.</summary>
    public static CaptureClient StartStreaming(MediaHarness h, uint? fourcc = null, uint width = 320, uint height = 240)
    {
        var client = new CaptureClient(h);
        client.SetFormat(fourcc ?? Yuyv, width, height);
        client.Allocate(6);
        client.QueueAll();
        Assert.That(client.StreamOn(), Is.Zero);
        return client;
    }
}
