using Spectrum.Camera.Frames;
using Spectrum.Camera.Sources;
using Spectrum.Camera.TestFrontend;

namespace Spectrum.Camera.Tests.Output;

/// <summary>
/// Gives each test its own served output device with a <see cref="RecordingDestination"/> (<see cref="H"/>, started on
/// first use with frames wanted at the menu's default mode, or <see cref="Start"/> with other options) and checks after
/// a passing test that the device loop survived and logged no error.
/// </summary>
[NonParallelizable]
public abstract class OutputTestBase
{
    /// <summary>Bounds waits on the device (bounded only so a broken device fails the test instead of hanging it).</summary>
    protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    private OutputHarness? _harness;
    private RecordingDestination? _destination;

    protected OutputHarness H => _harness ?? Start(Wanted(new FrameFormat(PixelFormats.Yuyv, 320, 240)));

    /// <summary>The destination of <see cref="H"/>: read it on the loop (<see cref="OnDestination{T}"/>).</summary>
    private protected RecordingDestination Destination => _destination ?? throw new InvalidOperationException("no device yet");

    /// <summary>Frames wanted in <paramref name="format"/> at 60 fps.</summary>
    protected static FrameDemand Wanted(FrameFormat format) => new(format, FrameRate.FromFps(60));

    /// <summary>Test-pattern frame <paramref name="number"/> in <paramref name="format"/>: what a producer writes.</summary>
    protected static byte[] FrameOf(FrameFormat format, uint number)
    {
        var sink = new MemoryFrameSink((int)format.SizeImage);
        _ = new TestPatternSource().Render(format, number, sink);
        return sink.WrittenMemory.ToArray();
    }

    private protected OutputHarness Start(FrameDemand? demand, int eventBuffers = 16, ulong ramSize = 64UL << 20)
    {
        _harness?.Dispose();
        _destination = new RecordingDestination(demand);
        _harness = OutputHarness.Start(_destination, ramSize: ramSize, eventBuffers: eventBuffers);
        return _harness;
    }

    /// <summary>Runs <paramref name="read"/> on the device loop with the destination.</summary>
    private protected T OnDestination<T>(Func<RecordingDestination, T> read) => H.OnLoop(_ => read(Destination));

    /// <summary>Changes the demand on the device loop, as the producer client does when the service says so.</summary>
    protected void SetDemand(FrameDemand? demand) => H.OnLoop(_ =>
    {
        Destination.SetDemand(demand);
        return 0;
    });

    /// <summary>A producer with <paramref name="format"/> set and <paramref name="buffers"/> buffers allocated.</summary>
    protected OutputProducer ProducerFor(FrameFormat format, int buffers)
    {
        var producer = H.Producer();
        Assert.That(producer.SetFormat(format.PixelFormat, format.Width, format.Height).Status, Is.Zero, "S_FMT");
        Assert.That(producer.FrameSize, Is.EqualTo(format.SizeImage), "S_FMT landed on the format");
        Assert.That(producer.Allocate(buffers), Is.EqualTo((0u, (uint)buffers)), "REQBUFS");
        return producer;
    }

    [TearDown]
    public void StopDevice()
    {
        try
        {
            _harness?.AssertHealthyIfPassed();
        }
        finally
        {
            _harness?.Dispose();
            _harness = null;
            _destination = null;
        }
    }
}
