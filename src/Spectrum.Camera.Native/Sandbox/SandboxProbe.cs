using System.Runtime.InteropServices;
using Tmds.Linux;
using static Spectrum.Camera.Native.LinuxConstants;
using static Spectrum.Camera.Native.Sandbox.SyscallNumbers;

namespace Spectrum.Camera.Native.Sandbox;

/// <summary>
/// Raw system calls for the sandbox self-test (spectrum-camera sandbox-selftest). Each returns 0 when the call
/// succeeded (cleaning up after itself) or its errno. Every probe is chosen so that, without a filter, it gives
/// something other than EPERM (success, EINVAL or ENOTTY), so an EPERM can only come from the filter.
/// </summary>
public static unsafe class SandboxProbe
{
    /// <summary>The address families the self-test tries.</summary>
    public enum Family
    {
        Unix,
        Inet,
        Inet6,
        Netlink,
    }

    /// <summary>socket(family, SOCK_STREAM|SOCK_CLOEXEC, 0) (SOCK_RAW for netlink).</summary>
    public static int Socket(Family family) =>
        CloseOnSuccess(LibC.socket(AddressFamily(family), (family == Family.Netlink ? LibC.SOCK_RAW : LibC.SOCK_STREAM) | LibC.SOCK_CLOEXEC, 0));

    /// <summary>The errno the filters answer a refused call with.</summary>
    public static int Refused => LibC.EPERM;

    /// <summary>The errno clone3 fails with, so glibc falls back to clone.</summary>
    public static int NoSuchCall => LibC.ENOSYS;

    /// <summary>"ok", or the errno's symbolic name for the few a probe can give, or "errno N".</summary>
    public static string ErrnoName(int errno) =>
        errno == 0 ? "ok"
        : errno == LibC.EPERM ? "EPERM"
        : errno == LibC.ENOSYS ? "ENOSYS"
        : errno == LibC.EINVAL ? "EINVAL"
        : errno == LibC.ENOTTY ? "ENOTTY"
        : errno == LibC.EACCES ? "EACCES"
        : $"errno {errno}";

    /// <summary>openat(path, O_RDONLY).</summary>
    public static int OpenForReading(string path)
    {
        fixed (byte* cPath = CString.Of(path))
        {
            return CloseOnSuccess(LibC.open(cPath, LibC.O_RDONLY | LibC.O_CLOEXEC, default));
        }
    }

    /// <summary>openat(path, O_WRONLY|O_CREAT, 0600): creates the file (and removes it again) unless refused.</summary>
    public static int CreateFile(string path)
    {
        fixed (byte* cPath = CString.Of(path))
        {
            var result = CloseOnSuccess(LibC.open(cPath, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_CLOEXEC, (ushort)0x180));
            if (result == 0)
            {
                _ = LibC.unlink(cPath);
            }

            return result;
        }
    }

    /// <summary>ioctl(fd, TCGETS): ENOTTY on a pipe or file when ioctl is allowed.</summary>
    public static int IoctlTcgets(int fd)
    {
        termios terminal;
        return Result(LibC.ioctl(fd, LibC.TCGETS, &terminal));
    }

    /// <summary>clone(CLONE_SIGHAND) without CLONE_VM and CLONE_THREAD: a process, not a thread. The kernel rejects the
    /// combination (EINVAL), so even without a filter nothing is ever created.</summary>
    public static int CloneProcess() => Result(LibC.syscall(SYS_clone, LibC.CLONE_SIGHAND, 0));

    /// <summary>clone3(NULL, 0): EINVAL (size too small) without a filter.</summary>
    public static int Clone3() => Result(LibC.syscall(SYS_clone3, 0, 0));

    /// <summary>memfd_create("probe", MFD_CLOEXEC).</summary>
    public static int MemfdCreate()
    {
        fixed (byte* name = CString.Of("spectrum-sandbox-probe"))
        {
            return CloseOnSuccess(LibC.memfd_create(name, LibC.MFD_CLOEXEC));
        }
    }

    /// <summary>
    /// What an MMAP capture buffer needs: memfd_create with the device's flags (close-on-exec, sealable), ftruncate to
    /// its size, the seals, and a shared mapping. 0 when all of it works, else the errno of the first refusal.
    /// </summary>
    public static int BufferMemfd()
    {
        try
        {
            using var fd = MemFd.CreateSealable("spectrum-sandbox-probe-buffer", 65536);
            MemFd.AddSeals(fd, MemFd.FixedSizeSeals);
            using var mapping = MappedMemory.MapShared(fd, 65536);
            mapping.AsSpan(1)[0] = 1;
            return 0;
        }
        catch (NativeException e)
        {
            return e.Errno;
        }
    }

    /// <summary>kill(getpid(), 0): the kill syscall, aimed harmlessly at this process.</summary>
    public static int KillSelf() => Result(LibC.syscall(SYS_kill, (int)LibC.getpid(), 0));

    /// <summary>tgkill(tgid, tid, 0): signal 0 only checks that the thread exists and may be signalled.</summary>
    public static int Tgkill(int tgid, int tid) => Result(LibC.syscall(SYS_tgkill, tgid, tid, 0));

    /// <summary>gettid().</summary>
    public static int CurrentThreadId() => (int)LibC.syscall(SYS_gettid);

    /// <summary>execve(path, [path], []). Replaces the process if allowed; under the sidecar's filter it kills it.</summary>
    public static int Execve(string path)
    {
        fixed (byte* p = CString.Of(path))
        {
            var argv = stackalloc byte*[2] { p, null };
            var envp = stackalloc byte*[1] { null };
            return Result(LibC.syscall(SYS_execve, p, argv, envp));
        }
    }

    /// <summary>ptrace(PTRACE_TRACEME): killed under the sidecar's filter.</summary>
    public static int PtraceTraceme() => Result(LibC.syscall(SYS_ptrace, 0));

    /// <summary>getpid through the x32 ABI (number | __X32_SYSCALL_BIT): killed under any filter built here.</summary>
    public static int X32Getpid() => Result(LibC.syscall(SYS_getpid | __X32_SYSCALL_BIT));

    private static int AddressFamily(Family family) => family switch
    {
        Family.Unix => LibC.AF_UNIX,
        Family.Inet => LibC.AF_INET,
        Family.Inet6 => LibC.AF_INET6,
        _ => LibC.AF_NETLINK,
    };

    private static int CloseOnSuccess(int fd)
    {
        if (fd < 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        _ = LibC.close(fd);
        return 0;
    }

    private static int Result(int result) => result < 0 ? Marshal.GetLastPInvokeError() : 0;

    private static int Result(syscall_arg result) => Result((int)result);
}
