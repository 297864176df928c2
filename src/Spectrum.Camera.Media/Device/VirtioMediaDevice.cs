using Spectrum.Camera.Frames;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The virtio-media (id 48) capture device: two queues (commandq, eventq), a 40-byte config, and a narrow allowlist of
/// V4L2 ioctls (<see cref="IoctlAllowlist"/>) served from the stable menu, with frames from an <see cref="IFrameSource"/>
/// written by the <see cref="FrameStreamer"/> into guest pages or, with a shared-memory window (QEMU 11.2's
/// vhost-user-media), into device-owned MMAP buffers the guest maps there.
/// </summary>
public sealed class VirtioMediaDevice : MediaDevice
{
    private readonly FrameStreamer _streamer;

    public VirtioMediaDevice(MediaDeviceOptions options)
        : base((options ?? throw new ArgumentNullException(nameof(options))).Card,
            V4l2.CapVideoCapture | V4l2.CapStreaming | V4l2.CapExtPixFormat, new DeviceState(options.Menu, options.SessionLimit),
            options.SharedMemorySize)
    {
        Options = options;
        _streamer = new FrameStreamer(State, options.Source, Transport);
        var buffers = new BufferIoctls(State, _streamer, Window);
        Compose(_streamer, buffers, new IoctlAllowlist(State, buffers));
    }

    public MediaDeviceOptions Options { get; }

    public FrameCounters Counters => _streamer.Counters;

    public bool IsStreaming => _streamer.IsStreaming;
}
