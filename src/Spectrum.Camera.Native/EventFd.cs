using Tmds.Linux;

namespace Spectrum.Camera.Native;

/// <summary>
/// A non-blocking eventfd: the virtio kick/call/err signals, and wake-ups between threads.
/// Either created here or adopted from an fd received over the vhost-user socket.
/// </summary>
public sealed class EventFd : IDisposable
{
    private readonly FdHandle _handle;

    public EventFd(FdHandle handle) => _handle = handle;

    public FdHandle Handle => _handle;

    public int Fd => _handle.Fd;

    public static EventFd Create(uint initialValue = 0) =>
        new(FdHandle.FromResult(
            LibC.eventfd(initialValue, LibC.EFD_CLOEXEC | LibC.EFD_NONBLOCK), "eventfd"));

    /// <summary>Adds 1 to the counter. Never blocks; a saturated counter already means "signalled".</summary>
    public void Signal()
    {
        var added = false;
        _handle.DangerousAddRef(ref added);
        try
        {
            FdHandle.WriteCounter(_handle.Fd, 1);
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    /// <summary>Reads and clears the counter; 0 if it was not signalled. The fd must be non-blocking.</summary>
    public ulong Consume()
    {
        var added = false;
        _handle.DangerousAddRef(ref added);
        try
        {
            return FdHandle.ReadCounter(_handle.Fd);
        }
        finally
        {
            if (added)
            {
                _handle.DangerousRelease();
            }
        }
    }

    public void Dispose() => _handle.Dispose();
}
