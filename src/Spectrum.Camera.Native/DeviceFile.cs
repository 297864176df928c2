using System.Runtime.InteropServices;

namespace Spectrum.Camera.Native;

/// <summary>
/// open/ioctl/poll on a character device (a host V4L2 camera). Calls answer with the errno (0 = success) instead of
/// throwing, because device errors are expected states there (ENODEV when a camera is unplugged, EAGAIN when no frame
/// is ready, EINVAL at the end of an enumeration) and the streaming path must not allocate.
/// </summary>
public static class DeviceFile
{
    /// <summary>
    /// Opens <paramref name="path"/> read/write and close-on-exec, non-blocking if asked. Returns 0 and the handle,
    /// or the errno (ENOENT, EACCES, ENODEV, ...) and null.
    /// </summary>
    public static int TryOpen(string path, bool nonBlocking, out FdHandle? handle)
    {
        ArgumentNullException.ThrowIfNull(path);
        var flags = LinuxConstants.O_RDWR | LinuxConstants.O_CLOEXEC | (nonBlocking ? LinuxConstants.O_NONBLOCK : 0);
        while (true)
        {
            var fd = Libc.Open(path, flags, 0);
            if (fd >= 0)
            {
                handle = new FdHandle(fd);
                return 0;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno != LinuxConstants.EINTR)
            {
                handle = null;
                return errno;
            }
        }
    }

    /// <summary>
    /// ioctl(<paramref name="fd"/>, <paramref name="request"/>, &amp;<paramref name="argument"/>), retried on EINTR.
    /// Returns 0 or the errno. <typeparamref name="T"/> must have the exact layout the request encodes.
    /// </summary>
    public static unsafe int Ioctl<T>(FdHandle fd, nuint request, ref T argument)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(fd);
        fixed (T* p = &argument)
        {
            while (true)
            {
                if (Libc.Ioctl(fd.Fd, request, p) >= 0)
                {
                    GC.KeepAlive(fd);
                    return 0;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != LinuxConstants.EINTR)
                {
                    GC.KeepAlive(fd);
                    return errno;
                }
            }
        }
    }

    /// <summary>
    /// poll() on one fd for readability, up to <paramref name="timeoutMs"/> (-1 = forever). Returns the revents
    /// (<see cref="PollEvents"/>; 0 on timeout or EINTR).
    /// </summary>
    public static unsafe PollEvents Poll(FdHandle fd, int timeoutMs)
    {
        ArgumentNullException.ThrowIfNull(fd);
        var p = new PollFd { Fd = fd.Fd, Events = LinuxConstants.POLLIN };
        var n = Libc.Poll(&p, 1, timeoutMs);
        GC.KeepAlive(fd);
        if (n < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno == LinuxConstants.EINTR ? PollEvents.None : throw new NativeException("poll", errno);
        }

        return n == 0 ? PollEvents.None : (PollEvents)(ushort)p.ReturnedEvents;
    }
}

/// <summary>poll() revents bits (the values of POLLIN etc., checked against the headers).</summary>
[Flags]
public enum PollEvents
{
    None = 0,
    In = LinuxConstants.POLLIN,
    Priority = LinuxConstants.POLLPRI,
    Error = LinuxConstants.POLLERR,
    HangUp = LinuxConstants.POLLHUP,
    Invalid = LinuxConstants.POLLNVAL,
}

/// <summary>The errno values device callers test for, so they need not hard-code numbers.</summary>
public static class Errnos
{
    public const int EPERM = LinuxConstants.EPERM;
    public const int ENOENT = LinuxConstants.ENOENT;
    public const int EIO = LinuxConstants.EIO;
    public const int ENXIO = LinuxConstants.ENXIO;
    public const int EAGAIN = LinuxConstants.EAGAIN;
    public const int EACCES = LinuxConstants.EACCES;
    public const int EBUSY = LinuxConstants.EBUSY;
    public const int ENODEV = LinuxConstants.ENODEV;
    public const int EINVAL = LinuxConstants.EINVAL;
    public const int ENOTTY = LinuxConstants.ENOTTY;
}
