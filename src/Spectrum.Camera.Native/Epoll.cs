using System.Runtime.InteropServices;
using Tmds.Linux;

namespace Spectrum.Camera.Native;

/// <summary>
/// An epoll instance. Registrations carry a 64-bit token chosen by the owner (the device loop keeps reserved
/// token ranges for the socket, kicks, timers and wake-ups).
/// </summary>
public sealed class Epoll : IDisposable
{
    private readonly FdHandle _handle;

    private Epoll(FdHandle handle) => _handle = handle;

    public static Epoll Create() =>
        new(FdHandle.FromResult(LibC.epoll_create1(LibC.EPOLL_CLOEXEC), "epoll_create1"));

    /// <summary>Watches <paramref name="fd"/> for readability (level-triggered).</summary>
    public unsafe void Add(int fd, ulong token)
    {
        var ev = new epoll_event { events = LibC.EPOLLIN };
        ev.data.u64 = token;
        if (LibC.epoll_ctl(_handle.Fd, LibC.EPOLL_CTL_ADD, fd, &ev) != 0)
        {
            throw NativeException.Last("epoll_ctl(ADD)");
        }
    }

    /// <summary>Stops watching <paramref name="fd"/>. Returns false if it was not registered.</summary>
    public unsafe bool Remove(int fd)
    {
        var ev = default(epoll_event);
        if (LibC.epoll_ctl(_handle.Fd, LibC.EPOLL_CTL_DEL, fd, &ev) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == LibC.ENOENT || errno == LibC.EBADF
            ? false
            : throw new NativeException("epoll_ctl(DEL)", errno);
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> (-1 = forever) and fills <paramref name="tokens"/> with the tokens of
    /// ready fds. Returns the count; 0 on timeout or EINTR.
    /// </summary>
    public unsafe int Wait(Span<ulong> tokens, int timeoutMs)
    {
        const int Max = 64;
        var events = stackalloc epoll_event[Max];
        var n = LibC.epoll_wait(_handle.Fd, events, Math.Min(Max, tokens.Length), timeoutMs);
        if (n < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno == LibC.EINTR ? 0 : throw new NativeException("epoll_wait", errno);
        }

        for (var i = 0; i < n; i++)
        {
            tokens[i] = events[i].data.u64;
        }

        return n;
    }

    public void Dispose() => _handle.Dispose();
}
