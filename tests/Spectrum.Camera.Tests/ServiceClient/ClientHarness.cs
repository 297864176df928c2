using Spectrum.Camera.Media.Frames;
using Spectrum.Camera.ServiceClient;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Tests.Core;
using Spectrum.Camera.VhostUser;

namespace Spectrum.Camera.Tests.ServiceClient;

/// <summary>
/// A <see cref="CameraServiceSource"/> on a real <see cref="DeviceLoop"/> thread, connected (or trying to connect) to a
/// <see cref="ScriptedService"/> in a temporary directory. Everything the test does to the source is posted onto the
/// loop (<see cref="OnLoop{T}"/>), as the device does; the log is captured.
/// </summary>
internal sealed class ClientHarness : IDisposable
{
    public const string VmName = "test-vm";
    public const int PacketBytes = 4096;

    private readonly string _directory;
    private readonly Thread _thread;
    private bool _disposed;

    public ClientHarness(bool listen = true, string vm = VmName)
    {
        Log = new LogCapture();
        _directory = Directory.CreateTempSubdirectory("spectrum-client-").FullName;
        Service = new ScriptedService(Path.Combine(_directory, "vm.sock"), listen);
        Loop = new DeviceLoop();
        Source = new CameraServiceSource(Loop, Service.Path, vm);
        _thread = new Thread(RunLoop) { IsBackground = true, Name = "client-device-loop" };
        _thread.Start();
    }

    public ScriptedService Service { get; }

    public DeviceLoop Loop { get; }

    public CameraServiceSource Source { get; }

    public LogCapture Log { get; }

    /// <summary>What escaped the device loop, if anything did (the loop is dead then).</summary>
    public Exception? LoopFailure { get; private set; }

    /// <summary>Runs <paramref name="action"/> on the loop thread and returns its result.</summary>
    public T OnLoop<T>(Func<CameraServiceSource, T> action)
    {
        using var done = new ManualResetEventSlim();
        T result = default!;
        Exception? failure = null;
        Loop.Post(() =>
        {
            try
            {
                result = action(Source);
            }
#pragma warning disable CA1031 // Handed to the test thread: nothing may escape into the loop.
            catch (Exception e)
#pragma warning restore CA1031
            {
                failure = e;
            }
            finally
            {
                done.Set();
            }
        });
        if (!done.Wait(TestWait.Bound))
        {
            throw new TimeoutException("the device loop did not answer", LoopFailure);
        }

        return failure is null ? result : throw new InvalidOperationException("the action on the loop failed", failure);
    }

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
        if (_thread.IsAlive)
        {
            _ = OnLoop(s =>
            {
                s.Dispose();
                return 0;
            });
            Loop.RequestStop();
            _thread.Join();
        }
        else
        {
            Source.Dispose();
        }

        Loop.Dispose();
        Service.Dispose();
        Log.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private void RunLoop()
    {
        try
        {
            Loop.Run();
        }
#pragma warning disable CA1031 // Reported to the test, which asserts there was none.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LoopFailure = e;
        }
    }
}
