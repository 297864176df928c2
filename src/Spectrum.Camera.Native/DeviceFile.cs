using System.Runtime.InteropServices;
using Tmds.Linux;

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
    public static unsafe int TryOpen(string path, bool nonBlocking, out FdHandle? handle)
    {
        ArgumentNullException.ThrowIfNull(path);
        var flags = LibC.O_RDWR | LibC.O_CLOEXEC | (nonBlocking ? LibC.O_NONBLOCK : 0);
        fixed (byte* cPath = CString.Of(path))
        {
            while (true)
            {
                var fd = LibC.open(cPath, flags, default);
                if (fd >= 0)
                {
                    handle = new FdHandle(fd);
                    return 0;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != LibC.EINTR)
                {
                    handle = null;
                    return errno;
                }
            }
        }
    }

    /// <summary>
    /// ioctl(<paramref name="fd"/>, <paramref name="request"/>, &amp;<paramref name="argument"/>), retried on EINTR.
    /// Returns 0 or the errno. <typeparamref name="T"/> must have the exact layout the request encodes.
    /// Tmds.LibC takes the request as an int: the kernel reads it as a 32-bit unsigned int, so the upper half that
    /// the int's sign extension sets for requests at or above 2^31 (every V4L2 request that reads back) is ignored.
    /// </summary>
    public static unsafe int Ioctl<T>(FdHandle fd, nuint request, ref T argument)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(fd);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(request, (nuint)uint.MaxValue);
        var command = unchecked((int)(uint)request);
        fixed (T* p = &argument)
        {
            while (true)
            {
                if (LibC.ioctl(fd.Fd, command, p) >= 0)
                {
                    GC.KeepAlive(fd);
                    return 0;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != LibC.EINTR)
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
        var p = new pollfd { fd = fd.Fd, events = LibC.POLLIN };
        var n = LibcSupplement.Poll(&p, 1, timeoutMs);
        GC.KeepAlive(fd);
        if (n < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno == LibC.EINTR ? PollEvents.None : throw new NativeException("poll", errno);
        }

        return n == 0 ? PollEvents.None : (PollEvents)(ushort)p.revents;
    }
}

/// <summary>
/// poll() revents bits: the values of POLLIN, POLLPRI, POLLERR, POLLHUP and POLLNVAL, written out because an enum
/// needs compile-time constants (Tmds.LibC's are properties); NativeLayoutTests checks each against the headers.
/// </summary>
[Flags]
public enum PollEvents
{
    None = 0,
    In = 0x1,
    Priority = 0x2,
    Error = 0x8,
    HangUp = 0x10,
    Invalid = 0x20,
}

/// <summary>
/// The errno values callers outside this layer test for, so they need not hard-code numbers. Written out because
/// callers use them in patterns and switches, which need compile-time constants (Tmds.LibC's are properties);
/// NativeLayoutTests checks each against the headers.
/// </summary>
public static class Errnos
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EIO = 5;
    public const int ENXIO = 6;
    public const int EAGAIN = 11;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int ENOTTY = 25;
}
