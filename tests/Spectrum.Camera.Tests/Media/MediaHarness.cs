using Spectrum.Camera.Threading;
using Spectrum.Camera.Media.Device;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// The capture device served for real (<see cref="DeviceHarness{TDevice}"/>), with the test pattern on the default
/// menu unless a test gives another source or menu.
/// </summary>
public sealed class MediaHarness : DeviceHarness<VirtioMediaDevice>
{
    /// <summary>Queue sizes as crosvm's virtio-media device uses them.</summary>
    public static readonly ushort[] QueueSizes = [256, 256];

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private MediaHarness(Func<EventLoop, MediaDeviceOptions> options, ulong ramSize, int eventBuffers)
        : base(loop => new VirtioMediaDevice(options(loop)), ramSize, eventBuffers)
    {
    }

    /// <summary>
    /// Starts a device; the default is the test pattern on the default menu in 64 MiB of guest RAM, with the 16 eventq
    /// buffers a Linux driver posts before DRIVER_OK.
    /// </summary>
    public static MediaHarness Start(IFrameSource? source = null, StableMenu? menu = null, ulong ramSize = 64UL << 20,
        string card = MediaDeviceOptions.DefaultCard, int eventBuffers = 16) =>
        new(_ => new MediaDeviceOptions(card, menu ?? StableMenu.Default, source ?? new TestPatternSource()), ramSize, eventBuffers);

    /// <summary>Starts a device whose source lives on the device loop (the camera-service client needs the loop).</summary>
    public static MediaHarness Start(Func<EventLoop, IFrameSource> sourceOnLoop, StableMenu? menu = null, ulong ramSize = 64UL << 20) =>
        new(loop => new MediaDeviceOptions(MediaDeviceOptions.DefaultCard, menu ?? StableMenu.Default, sourceOnLoop(loop)), ramSize, 16);

    /// <summary>Frame counters as the loop sees them now.</summary>
    public (ulong Delivered, ulong Dropped, ulong Failed, ulong Black, ulong TestPattern) Counters() =>
        OnLoop(d => (d.Counters.Delivered, d.Counters.Dropped, d.Counters.Failed, d.Counters.Black, d.Counters.TestPattern));

    private protected override void DisposeEnds() => (Device.Options.Source as IDisposable)?.Dispose();
}
