using System.Runtime.InteropServices;
using Tmds.Linux;

namespace Spectrum.Camera.Native;

/// <summary>
/// Owns one file descriptor and closes it exactly once. Every fd the project creates or receives is held by one
/// of these, so an fd can only leak if its owner does.
/// </summary>
public sealed class FdHandle : SafeHandle
{
    public FdHandle(int fd, bool ownsHandle = true)
        : base(invalidHandleValue: -1, ownsHandle) => SetHandle(fd);

    public override bool IsInvalid => handle < 0;

    /// <summary>The raw fd number, for system calls. Valid only while this handle is alive.</summary>
    public int Fd => (int)handle;

    protected override bool ReleaseHandle() => LibC.close((int)handle) == 0;

    /// <summary>Duplicates the fd (close-on-exec) into a new independent handle.</summary>
    public FdHandle Duplicate()
    {
        var added = false;
        DangerousAddRef(ref added);
        try
        {
            var copy = LibC.fcntl(Fd, LibC.F_DUPFD_CLOEXEC, 0);
            return copy < 0 ? throw NativeException.Last("fcntl(F_DUPFD_CLOEXEC)") : new FdHandle(copy);
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    /// <summary>
    /// The size of the regular file behind this fd (memfd, /dev/shm, hugetlbfs), or null when it is not a regular
    /// file. Guest RAM regions are checked against it: a mapping past the end of the file would raise SIGBUS on access.
    /// </summary>
    public unsafe ulong? RegularFileSize()
    {
        var added = false;
        DangerousAddRef(ref added);
        try
        {
            stat st;
            if (LibC.fstat(Fd, &st) != 0)
            {
                throw NativeException.Last("fstat");
            }

            long size = st.st_size;
            return LibC.S_ISREG(st.st_mode) && size >= 0 ? (ulong)size : null;
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    /// <summary>True when this fd is a socket (what a vhost-user backend channel must be).</summary>
    public bool IsSocket() => LinkTargetStartsWith("socket:[");

    /// <summary>True when this fd is an eventfd (what vhost-user kick, call and err fds must be).</summary>
    public bool IsEventFd() => LinkTargetStartsWith("anon_inode:[eventfd]");

    /// <summary>Whether /proc/self/fd names this fd's file with <paramref name="prefix"/> (the kernel's kind of file).</summary>
    private bool LinkTargetStartsWith(string prefix)
    {
        var added = false;
        DangerousAddRef(ref added);
        try
        {
            return new FileInfo($"/proc/self/fd/{Fd}").LinkTarget?.StartsWith(prefix, StringComparison.Ordinal) == true;
        }
        catch (IOException)
        {
            return false;
        }
        finally
        {
            if (added)
            {
                DangerousRelease();
            }
        }
    }

    /// <summary>Wraps a raw fd returned by a call, throwing with the call's errno when it failed.</summary>
    internal static FdHandle FromResult(int fd, string call) =>
        fd < 0 ? throw NativeException.Last(call) : new FdHandle(fd);

    /// <summary>Counts the fds open in this process (from /proc/self/fd); used by leak tests and limits.</summary>
    public static int CountOpenFds() => Directory.GetFileSystemEntries("/proc/self/fd").Length;

    /// <summary>Writes the 8-byte counter of an eventfd-like fd. Returns false if it would block (counter full).</summary>
    internal static unsafe bool WriteCounter(int fd, ulong value)
    {
        while (true)
        {
            long n = LibC.write(fd, &value, 8);
            if (n == 8)
            {
                return true;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (n < 0 && errno == LibC.EINTR)
            {
                continue;
            }

            if (n < 0 && errno == LibC.EAGAIN)
            {
                return false;
            }

            throw new NativeException("write(eventfd)", errno);
        }
    }

    /// <summary>Reads and resets the 8-byte counter of an eventfd/timerfd. Returns 0 if nothing was pending.</summary>
    internal static unsafe ulong ReadCounter(int fd)
    {
        while (true)
        {
            ulong value = 0;
            long n = LibC.read(fd, &value, 8);
            if (n == 8)
            {
                return value;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (n < 0 && errno == LibC.EINTR)
            {
                continue;
            }

            if (n < 0 && errno == LibC.EAGAIN)
            {
                return 0;
            }

            throw new NativeException("read(counter)", errno);
        }
    }
}
