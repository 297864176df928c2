using Spectrum.Camera.Frames;
using Spectrum.Camera.Threading;
using Spectrum.Camera.ServiceClient;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Tests.Core;

namespace Spectrum.Camera.Tests.ServiceClient;

/// <summary>
/// A <see cref="CameraServiceSource"/> on a real <see cref="EventLoop"/> thread, connected (or trying to connect) to a
/// <see cref="ScriptedService"/> in a temporary directory. Everything the test does to the source is posted onto the
/// loop (<see cref="OnLoop{T}"/>), as the device does; the log is captured.
/// </summary>
internal sealed class ClientHarness : IDisposable
{
    public const string VmName = "test-vm";
    public const int PacketBytes = 4096;

    private readonly string _directory;
    private readonly LoopThread _loop = new("client-device-loop", TestWait.Bound);
    private bool _disposed;

    public ClientHarness(bool listen = true, string vm = VmName)
    {
        Log = new LogCapture();
        _directory = Directory.CreateTempSubdirectory("spectrum-client-").FullName;
        Service = new ScriptedService(Path.Combine(_directory, "vm.sock"), listen);
        Source = new CameraServiceSource(Loop, Service.Path, vm);
    }

    public ScriptedService Service { get; }

    public EventLoop Loop => _loop.Loop;

    public CameraServiceSource Source { get; }

    public LogCapture Log { get; }

    /// <summary>What escaped the device loop, if anything did (the loop is dead then).</summary>
    public Exception? LoopFailure => _loop.Failure;

    /// <summary>Runs <paramref name="action"/> on the loop thread and returns its result.</summary>
    public T OnLoop<T>(Func<CameraServiceSource, T> action) => _loop.Invoke(() => action(Source));

    public void StreamStarted(FrameFormat format, FrameRate rate) => OnLoop(s =>
    {
        s.StreamStarted(format, rate);
        return 0;
    });

    public void StreamStopped() => OnLoop(s =>
    {
        s.StreamStopped();
        return 0;
    });

    /// <summary>Renders one frame on the loop; checks that exactly the frame's size was written.</summary>
    public (FrameContent Content, byte[] Bytes) Render(FrameFormat format, uint frameNumber = 0)
    {
        var sink = new MemoryFrameSink((int)format.SizeImage);
        var content = OnLoop(s => s.Render(format, frameNumber, sink));
        Assert.That(sink.Written, Is.EqualTo((int)format.SizeImage), "bytes written by Render");
        return (content, sink.WrittenMemory.ToArray());
    }

    /// <summary>Waits (bounded) until <paramref name="condition"/> holds on the loop.</summary>
    public bool WaitUntil(Func<CameraServiceSource, bool> condition)
    {
        var deadline = DateTime.UtcNow + TestWait.Bound;
        while (!OnLoop(condition))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            Thread.Sleep(10);
        }

        return true;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_loop.Failure is null)
        {
            _loop.Invoke(Source.Dispose);
        }
        else
        {
            Source.Dispose();
        }

        _loop.Dispose();
        Service.Dispose();
        Log.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
