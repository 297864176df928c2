using System.Diagnostics;
using System.Runtime.CompilerServices;
using Spectrum.Camera.Bench.Device;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Sources;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Bench.WholeSystem;

/// <summary>
/// The camera VM of the producer-path scenario: a test-frontend VMM and guest on a real
/// <c>spectrum-camera serve --role producer</c> sidecar, and on its output device an application as a camera VM's
/// agent runs one. It waits for Frames Wanted, takes the mode the service asked for from G_FMT, sets it, allocates 4
/// buffers of scattered guest pages (every other page, as the consumers' guests here), and from then on writes a
/// test-pattern frame into every buffer the device gives back and queues it again. The frames carry their own number
/// in the test pattern's number band (1, 2, 3, … in the order written), which the consumers' guests read to count the
/// camera VM's frames they saw twice or never.
/// </summary>
/// <remarks>
/// The device takes one buffer per frame period of the stream's rate (its own timer), so the application writes at
/// that rate without a clock of its own, as a real pipeline blocked in DQBUF does. Rendering and writing the frame
/// are this process's work, which stands for the camera VM, and are not counted.
/// </remarks>
public sealed class CameraVmApplication : IDisposable
{
    private const int BufferCount = 4;

    /// <summary>The output device's Frames Wanted control: V4L2_CID_USER_BASE + 0x1600 (docs/camera-vm.md).</summary>
    private const uint FramesWantedId = V4l2.CidUserBase + 0x1600;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private readonly TestVmm _vmm;
    private readonly MediaGuestDriver _driver;
    private readonly OutputProducer _producer;
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _written;
    private long _errors;
    private volatile StrongBox<FrameFormat>? _mode;
    private Exception? _failure;

    /// <param name="socket">The producer sidecar's vhost-user socket.</param>
    /// <param name="largest">The largest frame the service may ask for (sizes the guest's RAM).</param>
    public CameraVmApplication(string socket, FrameFormat largest)
    {
        ArgumentNullException.ThrowIfNull(socket);
        _vmm = new TestVmm(socket, [256, 256], (2UL * BufferCount * largest.SizeImage) + (32UL << 20));
        _vmm.Initialize();
        _driver = new MediaGuestDriver(_vmm) { Timeout = ServedDevice.Timeout };
        _vmm.StartDriver(newRings: true, beforeEnable: _ => _driver.PostEventBuffers(16));
        _driver.ArmInterrupts();
        _producer = new OutputProducer(_driver, _driver.OpenSession());
        _thread = new Thread(Run) { IsBackground = true, Name = "bench-camera-vm" };
        _thread.Start();
    }

    /// <summary>Frames written and queued after STREAMON (the first four included).</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Buffers the device gave back with V4L2_BUF_FLAG_ERROR (its pages could not be read whole).</summary>
    public long ErrorReturns => Interlocked.Read(ref _errors);

    /// <summary>The mode the service asked for and the application streams (null until frames are wanted).</summary>
    public FrameFormat? Mode => _mode?.Value;

    /// <summary>STREAMOFF, then the application's thread ends; its failure, if any, is thrown here.</summary>
    public void Stop()
    {
        _stop = true;
        if (_thread.IsAlive)
        {
            _thread.Join();
        }

        if (_failure is not null)
        {
            throw new InvalidOperationException("the camera VM's application failed", _failure);
        }
    }

    public void Dispose()
    {
        _stop = true;
        if (_thread.IsAlive)
        {
            _thread.Join();
        }

        _vmm.Dispose(); // closes the vhost-user connection: the producer sidecar exits 0 and logs its counters
    }

    private void Run()
    {
        try
        {
            WaitForFramesWanted();
            var (status, asked) = _producer.GetFormat();
            Expect(status, "G_FMT");
            var mode = new FrameFormat(asked.Pix.PixelFormat, asked.Pix.Width, asked.Pix.Height);
            Expect(_producer.SetFormat(mode.PixelFormat, mode.Width, mode.Height).Status, "S_FMT");
            _mode = new StrongBox<FrameFormat>(mode);
            var (allocated, granted) = _producer.Allocate(BufferCount);
            Expect(allocated, "REQBUFS");
            var pattern = new TestPatternSource();
            var sink = new MemoryFrameSink((int)mode.SizeImage);
            var number = 0u;
            ReadOnlySpan<byte> Next()
            {
                sink.Reset();
                pattern.Render(mode, ++number, sink);
                return sink.WrittenMemory.Span;
            }

            for (var i = 0; i < granted; i++)
            {
                Expect(_producer.Queue(i, Next()).Status, "QBUF");
                Interlocked.Increment(ref _written);
            }

            Expect(_producer.StreamOn(), "STREAMON");
            while (!_stop)
            {
                if (_producer.NextReturn(Wait) is not { } returned)
                {
                    throw new TimeoutException($"the output device returned no buffer in {Wait.TotalSeconds:F0} s");
                }

                if ((returned.Flags & V4l2.BufFlagError) != 0)
                {
                    Interlocked.Increment(ref _errors);
                }

                Expect(_producer.Queue((int)returned.Index, Next()).Status, "QBUF");
                Interlocked.Increment(ref _written);
            }

            Expect(_producer.StreamOff(), "STREAMOFF");
        }
#pragma warning disable CA1031 // Reported by Stop.
        catch (Exception e)
#pragma warning restore CA1031
        {
            _failure = e;
        }
    }

    /// <summary>Polls the read-only Frames Wanted control (G_CTRL) until the service wants frames.</summary>
    private void WaitForFramesWanted()
    {
        var clock = Stopwatch.StartNew();
        while (!_stop)
        {
            var (status, answer) = _producer.Ioctl(V4l2IoctlNumber.GCtrl, MediaRequests.Control(FramesWantedId), MediaRequests.SizeOf<V4l2Control>());
            Expect(status, "G_CTRL Frames Wanted");
            if (MediaRequests.Read<V4l2Control>(answer).Value != 0)
            {
                return;
            }

            if (clock.Elapsed > Wait)
            {
                throw new TimeoutException($"the service did not want the camera VM's frames in {Wait.TotalSeconds:F0} s");
            }

            Thread.Sleep(50);
        }
    }

    private static void Expect(uint status, string what)
    {
        if (status != 0)
        {
            throw new InvalidOperationException($"{what} failed with errno {status}");
        }
    }
}
