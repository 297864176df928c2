using Spectrum.Camera.Frames;
using Spectrum.Camera.Media.Device;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Tests.Media;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.Tests.Output;

/// <summary>
/// The output device served for real (<see cref="DeviceHarness{TDevice}"/>): a camera VM's output node whose frames go
/// to a destination the test gives (a <see cref="RecordingDestination"/>, or the real producer client), with the test
/// frontend's <see cref="OutputProducer"/> playing the camera VM's application.
/// </summary>
public sealed class OutputHarness : DeviceHarness<VirtioMediaOutputDevice>
{
    /// <summary>A small, fast menu (the default's formats, two sizes, 60 fps) so the tests see many frames quickly.</summary>
    public static readonly StableMenu FastMenu = StableMenu.Parse("formats=YUYV,NV12,YU12;sizes=320x240,640x480;fps=60,30");

    private OutputHarness(Func<EventLoop, IFrameDestination> destination, StableMenu menu, ulong ramSize, int eventBuffers)
        : base(loop => new VirtioMediaOutputDevice(new OutputDeviceOptions(OutputDeviceOptions.DefaultCard, menu, destination(loop))),
            ramSize, eventBuffers, FrontendModel.Qemu10Generic)
    {
    }

    internal static OutputHarness Start(RecordingDestination destination, StableMenu? menu = null, ulong ramSize = 64UL << 20,
        int eventBuffers = 16) => new(_ => destination, menu ?? FastMenu, ramSize, eventBuffers);

    /// <summary>A device whose destination lives on the device loop (the producer client needs the loop).</summary>
    public static OutputHarness Start(Func<EventLoop, IFrameDestination> destinationOnLoop, StableMenu? menu = null, ulong ramSize = 64UL << 20) =>
        new(destinationOnLoop, menu ?? FastMenu, ramSize, 16);

    /// <summary>A producer on a new session (or on <paramref name="session"/>).</summary>
    public OutputProducer Producer(uint? session = null) => new(Driver, session ?? OpenSession());

    /// <summary>The output counters as the loop sees them now.</summary>
    public (ulong Forwarded, ulong Dropped, ulong Failed, ulong Held) Counters() =>
        OnLoop(d => (d.Counters.Forwarded, d.Counters.Dropped, d.Counters.Failed, d.Counters.HeldPeriods));

    private protected override void DisposeEnds() => (Device.Options.Destination as IDisposable)?.Dispose();
}
