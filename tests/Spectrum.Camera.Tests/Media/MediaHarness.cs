using Spectrum.Camera.Threading;
using Spectrum.Camera.Media.Device;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Sources;
using Spectrum.Camera.TestFrontend;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// The capture device served for real (<see cref="DeviceHarness{TDevice}"/>), with the test pattern on the default
/// menu unless a test gives another source or menu, behind QEMU 10.0's generic device unless a test gives another
/// front-end model.
/// </summary>
public sealed class MediaHarness : DeviceHarness<VirtioMediaDevice>
{
    /// <summary>Queue sizes as the project's QEMU 10.0 command line sets them (vq_size=256, crosvm's size too).</summary>
    public static readonly ushort[] QueueSizes = [256, 256];

    /// <summary>Queue sizes of QEMU 11.2's vhost-user-media (virtio_add_queue(vdev, 128, ...) for both).</summary>
    public static readonly ushort[] MediaDeviceQueueSizes = [128, 128];

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private MediaHarness(Func<EventLoop, MediaDeviceOptions> options, ulong ramSize, int eventBuffers, FrontendModel model)
        : base(loop => new VirtioMediaDevice(options(loop)), ramSize, eventBuffers, model)
    {
    }

    /// <summary>
    /// Starts a device; the default is the test pattern on the default menu in 64 MiB of guest RAM, with the 16 eventq
    /// buffers a Linux driver posts before DRIVER_OK.
    /// </summary>
    public static MediaHarness Start(IFrameSource? source = null, StableMenu? menu = null, ulong ramSize = 64UL << 20,
        string card = MediaDeviceOptions.DefaultCard, int eventBuffers = 16, FrontendModel model = FrontendModel.Qemu10Generic,
        ulong sharedMemorySize = MediaDeviceOptions.DefaultSharedMemorySize) =>
        new(_ => new MediaDeviceOptions(card, menu ?? StableMenu.Default, source ?? new TestPatternSource()) { SharedMemorySize = sharedMemorySize },
            ramSize, eventBuffers, model);

    /// <summary>Starts a device whose source lives on the device loop (the camera-service client needs the loop).</summary>
    public static MediaHarness Start(Func<EventLoop, IFrameSource> sourceOnLoop, StableMenu? menu = null, ulong ramSize = 64UL << 20) =>
        new(loop => new MediaDeviceOptions(MediaDeviceOptions.DefaultCard, menu ?? StableMenu.Default, sourceOnLoop(loop)), ramSize, 16,
            FrontendModel.Qemu10Generic);

    /// <summary>Frame counters as the loop sees them now.</summary>
    public (ulong Delivered, ulong Dropped, ulong Failed, ulong Black, ulong TestPattern) Counters() =>
        OnLoop(d => (d.Counters.Delivered, d.Counters.Dropped, d.Counters.Failed, d.Counters.Black, d.Counters.TestPattern));

    private protected override void DisposeEnds() => (Device.Options.Source as IDisposable)?.Dispose();
}
