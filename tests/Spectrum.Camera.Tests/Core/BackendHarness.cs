using Spectrum.Camera.Threading;
using Spectrum.Camera.Native;
using Spectrum.Camera.VhostUser;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// Runs the real backend the way the executable does: a listening Unix socket in a temp directory, one
/// <see cref="EventLoop"/> on a dedicated thread, and a <see cref="VhostUserBackend"/> with an
/// <see cref="EchoEventDevice"/> for the one connection it accepts. Exposes the connection's outcome, any exception
/// that escaped the loop, and the captured log.
/// </summary>
internal sealed class BackendHarness : IDisposable
{
    private readonly DirectoryInfo _directory;
    private readonly UnixSocket _listener;
    private readonly EventLoop _loop = new();
    private readonly Thread _thread;
    private readonly ManualResetEventSlim _disconnected = new();
    private readonly ManualResetEventSlim _loopEnded = new();
    private VhostUserBackend? _backend;

    /// <summary>The backend of the accepted connection (read it on the loop).</summary>
    public VhostUserBackend? Backend => _backend;
    private volatile Exception? _loopException;
    private bool _disposed;

    /// <param name="sharedMemorySize">Region 0 of the echo device (0: a device without one, as before the window).</param>
    public BackendHarness(ulong sharedMemorySize = 0)
    {
        Device = new EchoEventDevice { SharedMemoryRegionSize = sharedMemorySize };
        Log = new LogCapture();
        _directory = Directory.CreateTempSubdirectory("spectrum-core-");
        SocketPath = Path.Combine(_directory.FullName, "vhost-user.sock");
        _listener = UnixSocket.Listen(SocketPath);
        _loop.Watch(_listener.Fd, Accept);
        _thread = new Thread(RunLoop) { IsBackground = true, Name = "device-loop (test)" };
        _thread.Start();
    }

    public string SocketPath { get; }

    public EchoEventDevice Device { get; }

    public LogCapture Log { get; }

    /// <summary>An exception that escaped a loop callback: the backend crashed.</summary>
    public Exception? LoopException => _loopException;

    /// <summary>How the connection ended, or null while it lives.</summary>
    public VhostUserBackend.DisconnectReason? Disconnect { get; private set; }

    public string? DisconnectDetail { get; private set; }

    /// <summary>Waits until the backend ends the connection; false if it is still serving.</summary>
    public bool WaitForDisconnect() => _disconnected.Wait(TestWait.Bound);

    /// <summary>Runs <paramref name="action"/> on the device loop and returns its result (a barrier: every callback
    /// queued before it has run).</summary>
    public T OnLoop<T>(Func<T> action)
    {
        T result = default!;
        Exception? failure = null;
        using var done = new ManualResetEventSlim();
        _loop.Post(() =>
        {
            try
            {
                result = action();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                failure = e;
            }
            finally
            {
                done.Set();
            }
        });
        if (WaitHandle.WaitAny([done.WaitHandle, _loopEnded.WaitHandle], TestWait.Bound) != 0 && !done.IsSet)
        {
            throw new InvalidOperationException("the device loop is not running", _loopException);
        }

        return failure is null ? result : throw new InvalidOperationException("loop action failed", failure);
    }

    /// <summary>Waits until the loop has handled everything queued so far.</summary>
    public void Sync() => OnLoop(() => 0);

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _loop.RequestStop();
        _thread.Join();
        _backend?.Dispose();
        _loop.Dispose();
        _listener.Dispose();
        _disconnected.Dispose();
        _loopEnded.Dispose();
        _directory.Delete(recursive: true);
        Log.Dispose();
    }

    private void Accept()
    {
        var connection = _listener.Accept();
        _loop.Unwatch(_listener.Fd);
        var backend = new VhostUserBackend(Device, _loop, connection);
        backend.Disconnected += reason =>
        {
            Disconnect = reason;
            DisconnectDetail = backend.DisconnectDetail;
            _disconnected.Set();
        };
        _backend = backend;
        backend.Start();
    }

    private void RunLoop()
    {
        try
        {
            _loop.Run();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _loopException = e;
        }
        finally
        {
            _loopEnded.Set();
        }
    }
}
