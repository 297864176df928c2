using Spectrum.Camera.Frames;
using Spectrum.Camera.Imaging;
using Spectrum.Camera.Protocol.Operator;
using Spectrum.Camera.Service.Feeds;
using Spectrum.Camera.Tests.Core;

namespace Spectrum.Camera.Tests.Service;

/// <summary>
/// A real camera service whose first camera, "usb", is the camera VM "cam-vm" (<c>--camera usb=vm:cam-vm</c>), with
/// the consumer VMs and further cameras a test asks for. The test plays the camera VM's producer sidecar
/// (<see cref="ScriptedProducer"/>) and reads the feed's counters on the service's loop.
/// </summary>
internal sealed class CameraVmFixture : IDisposable
{
    public const string CameraVm = "cam-vm";
    public const string CameraName = "usb";

    private ProducerCameraFeed? _feed;

    /// <param name="otherCameras">--camera values after usb=vm:cam-vm.</param>
    /// <param name="cameraVmUid">The uid cam-vm's producer runs as (--vm cam-vm:UID); null: the test's own.</param>
    /// <param name="consumers">--vm values of the consumer VMs.</param>
    public CameraVmFixture(string[] otherCameras, uint? cameraVmUid, params string[] consumers)
    {
        string[] cameras = [$"{CameraName}=vm:{CameraVm}", .. otherCameras];
        string[] vms = [cameraVmUid is { } uid ? $"{CameraVm}:{uid}" : CameraVm, .. consumers];
        Service = new ServiceFixture(cameras, TimeSpan.FromSeconds(30), (loop, camera) =>
        {
            var feed = CameraFeeds.Create(loop, camera.Spec);
            if (feed is ProducerCameraFeed producer)
            {
                _feed = producer;
            }

            return feed;
        }, vms);
    }

    public CameraVmFixture(params string[] consumers)
        : this([], null, consumers)
    {
    }

    public ServiceFixture Service { get; }

    public string ProducerSocket => Service.Options.ProducerSocketPath(CameraVm);

    /// <summary>A producer for cam-vm, welcomed, recording what the service sends.</summary>
    public ScriptedProducer ConnectProducer() => ScriptedProducer.Welcomed(ProducerSocket, CameraVm);

    /// <summary>Reads the camera VM's feed on the service's loop (its members are loop-thread only).</summary>
    public T OnFeed<T>(Func<ProducerCameraFeed, T> read)
    {
        var feed = _feed ?? throw new InvalidOperationException("the service made no camera VM feed");
        T result = default!;
        using var done = new ManualResetEventSlim();
        Service.Service.Loop.Post(() =>
        {
            result = read(feed);
            done.Set();
        });
        Assert.That(done.Wait(TestWait.Bound), Is.True, "the service's loop did not run the read");
        return result;
    }

    /// <summary>The camera as `ctl cameras` shows it.</summary>
    public CameraInfo Camera(string name = CameraName) => Service.Cameras().Single(c => c.Name == name);

    /// <summary>Waits (bounded) until `ctl cameras` shows <paramref name="state"/> for the camera.</summary>
    public void WaitForCameraState(string state, string name = CameraName) =>
        Assert.That(SpinWait.SpinUntil(() => Camera(name).State == state, TestWait.Bound), Is.True,
            $"camera {name} never became {state}: {Camera(name).Description}");

    /// <summary>What a host camera streaming <paramref name="source"/> would give a guest streaming <paramref name="guest"/>.</summary>
    public static byte[] Converted(FrameFormat source, byte[] frame, FrameFormat guest)
    {
        using var converter = new FrameConverter(HostFrameFormat.Packed(source.PixelFormat, (int)source.Width, (int)source.Height), guest);
        var output = new byte[guest.SizeImage];
        Assert.That(converter.Convert(frame, output), Is.EqualTo(ConversionResult.Converted));
        return output;
    }

    public void Dispose() => Service.Dispose();
}
