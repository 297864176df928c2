using BenchmarkDotNet.Attributes;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Sources;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Bench.Device;

/// <summary>
/// Command latency: round trips through the test frontend, one per measurement: the guest writes the
/// descriptors, publishes, kicks the kick eventfd; the device loop wakes, copies and validates the request, answers,
/// completes it on the used ring and signals the call eventfd; the guest wakes and reads the status.
/// </summary>
public class CommandLatencyBenchmarks
{
    private static readonly FrameFormat QueueFormat = new(PixelFormats.Nv12, 1920, 1080);

    private ServedDevice? _device;
    private FrameRig? _rig;
    private CommandSlot? _commands;
    private CommandSlot.Placed _getFormat;
    private int _next;

    [GlobalSetup]
    public void SetUp()
    {
        _device = new ServedDevice(new TestPatternSource(), 256UL << 20);
        _rig = new FrameRig(_device, QueueFormat, FrameDeliveryBenchmarks.Buffers);
        _commands = new CommandSlot(_device.Ram, _device.Driver.CommandQueue);
        _getFormat = _commands.Place(MediaRequests.Ioctl(_rig.Session, V4l2IoctlNumber.GFmt, MediaRequests.Format(0, 0, 0)), MediaRequests.SizeOf<V4l2Format>());
    }

    /// <summary>Not streaming: once every buffer is queued, STREAMOFF hands them back (outside the measurement).</summary>
    [IterationSetup(Target = nameof(QbufNv12At1080p))]
    public void ReturnBuffersWhenAllQueued()
    {
        if (_next == FrameDeliveryBenchmarks.Buffers)
        {
            _rig!.StreamOff();
            _next = 0;
        }
    }

    [GlobalCleanup]
    public void CleanUp() => _device!.Dispose();

    /// <summary>G_FMT: the smallest useful command (208-byte v4l2_format in and out).</summary>
    [Benchmark]
    public uint GFmt()
    {
        var status = _commands!.Send(_getFormat);
        return status == 0 ? status : throw new InvalidOperationException($"G_FMT failed with errno {status}");
    }

    /// <summary>QBUF of a 1080p NV12 buffer of scattered pages: 760 SG entries (12 KiB) copied, parsed and checked.</summary>
    [Benchmark]
    public int QbufNv12At1080p()
    {
        _rig!.Queue(_next);
        return _next++;
    }
}
