using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.Threading;

namespace Spectrum.Camera.VhostUser;

/// <summary>
/// Serves one device to one VMM: listens on a Unix socket, and on the loop accepts the first connection, stops
/// listening (a VM has one VMM; a second client is never accepted) and runs a <see cref="VhostUserBackend"/> for it.
/// The executable, the tests, the benchmarks and the test devices all serve a device through this one type.
/// </summary>
public sealed class VhostUserServer : IDisposable
{
    private readonly IVirtioDevice _device;
    private readonly EventLoop _loop;
    private readonly UnixSocket _listener;
    private bool _listening;
    private bool _disposed;

    private VhostUserServer(IVirtioDevice device, EventLoop loop, string socketPath, UnixSocket listener)
    {
        _device = device;
        _loop = loop;
        SocketPath = socketPath;
        _listener = listener;
    }

    public string SocketPath { get; }

    /// <summary>The backend of the accepted connection, once the VMM has connected.</summary>
    public VhostUserBackend? Backend { get; private set; }

    /// <summary>Raised on the loop when the VMM's connection ends (after the backend released everything).</summary>
    public event Action<VhostUserBackend.DisconnectReason>? Disconnected;

    /// <summary>
    /// Listens on <paramref name="socketPath"/> (a stale socket file is replaced). Nothing is accepted until
    /// <see cref="Start"/>. Throws <see cref="NativeException"/> when the socket cannot be created.
    /// </summary>
    public static VhostUserServer Listen(string socketPath, IVirtioDevice device, EventLoop loop)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(loop);
        return new VhostUserServer(device, loop, socketPath, UnixSocket.Listen(socketPath));
    }

    /// <summary>Starts accepting on the loop. Call from the loop thread, or before the loop runs.</summary>
    public void Start()
    {
        _listening = true;
        _loop.Watch(_listener.Fd, Accept);
    }

    /// <summary>Closes the connection and the listening socket and removes the socket file. Idempotent.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        StopListening();
        Backend?.Dispose();
        _listener.Dispose();
        try
        {
            File.Delete(SocketPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.Warning("vhost-user", $"could not remove {SocketPath}: {e.Message}");
        }
    }

    private void Accept()
    {
        var connection = _listener.Accept();
        StopListening();
        Log.Info("vhost-user", "VMM connected");
        Backend = new VhostUserBackend(_device, _loop, connection);
        Backend.Disconnected += reason => Disconnected?.Invoke(reason);
        Backend.Start();
    }

    private void StopListening()
    {
        if (_listening)
        {
            _listening = false;
            _loop.Unwatch(_listener.Fd);
        }
    }
}
