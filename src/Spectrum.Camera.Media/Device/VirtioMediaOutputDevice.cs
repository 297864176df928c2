using Spectrum.Camera.Frames;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The virtio-media (id 48) output device a camera VM writes its camera's frames into (docs/camera-vm.md): device_caps
/// VIDEO_OUTPUT | STREAMING | EXT_PIX_FORMAT, the same narrow allowlist style as the capture device
/// (<see cref="IoctlAllowlist"/>), raw menu formats only, and the read-only Frames Wanted control. Each queued buffer's
/// frame is copied once into the <see cref="IFrameDestination"/> by the <see cref="FrameReceiver"/>. The destination's
/// demand drives Frames Wanted (and its V4L2_EVENT_CTRL) and asks for its mode as the device's format.
/// </summary>
public sealed class VirtioMediaOutputDevice : MediaDevice
{
    private readonly FrameReceiver _receiver;
    private readonly OutputControls _controls;
    private readonly IFrameDestination _destination;

    public VirtioMediaOutputDevice(OutputDeviceOptions options)
        : base((options ?? throw new ArgumentNullException(nameof(options))).Card,
            V4l2.CapVideoOutput | V4l2.CapStreaming | V4l2.CapExtPixFormat,
            new DeviceState(options.Menu, options.SessionLimit, V4l2.BufTypeVideoOutput), sharedMemorySize: 0)
    {
        Options = options;
        _destination = options.Destination;
        _receiver = new FrameReceiver(State, _destination, Transport);
        _controls = new OutputControls(State, Transport);
        var buffers = new BufferIoctls(State, _receiver, Window);
        Compose(_receiver, buffers, new IoctlAllowlist(State, buffers, _controls));
        _destination.DemandChanged += OnDemandChanged;
        OnDemandChanged();
    }

    public OutputDeviceOptions Options { get; }

    public OutputCounters Counters => _receiver.Counters;

    public bool IsStreaming => _receiver.IsStreaming;

    /// <summary>The value of the Frames Wanted control the camera VM sees.</summary>
    public bool FramesWanted => _controls.FramesWantedValue;

    /// <summary>Control events queued for the driver.</summary>
    public ulong ControlEventsSent => _controls.EventsSent;

    public override void Reset()
    {
        base.Reset();
        RequestDemandedMode();
    }

    public override void QueueStarted(int index, IVirtqueue queue)
    {
        base.QueueStarted(index, queue);
        _controls.FlushPending();
    }

    public override void QueueNotified(int index)
    {
        base.QueueNotified(index);
        if (index == EventQueue)
        {
            // The driver posted eventq buffers: control events that found the backlog full can go now.
            _controls.FlushPending();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _destination.DemandChanged -= OnDemandChanged;
        }

        base.Dispose(disposing);
    }

    private void OnDemandChanged()
    {
        var demand = _destination.Demand;
        if ((demand is not null) != _controls.FramesWantedValue)
        {
            Log.Info(Component, demand is not null
                ? $"frames wanted: {demand.Format} every {demand.Rate} s (Frames Wanted = 1)"
                : "frames no longer wanted (Frames Wanted = 0)");
        }

        _controls.SetFramesWanted(demand is not null);
        RequestDemandedMode();
    }

    /// <summary>The demanded mode, snapped to the menu, becomes the format as soon as no buffers hold the old one.</summary>
    private void RequestDemandedMode()
    {
        if (_destination.Demand is { } demand)
        {
            var format = State.Menu.Adjust(demand.Format.PixelFormat, demand.Format.Width, demand.Format.Height);
            State.RequestMode(format, State.Menu.SnapInterval(demand.Rate.Numerator, demand.Rate.Denominator));
        }
    }
}
