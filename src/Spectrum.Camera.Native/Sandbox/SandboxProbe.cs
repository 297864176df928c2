using System.Runtime.InteropServices;
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
        Unix = AF_UNIX,
        Inet = AF_INET,
        Inet6 = AF_INET6,
        Netlink = AF_NETLINK,
    }

    /// <summary>socket(family, SOCK_STREAM|SOCK_CLOEXEC, 0) (SOCK_RAW for netlink).</summary>
    public static int Socket(Family family) =>
        CloseOnSuccess(Libc.Socket((int)family, (family == Family.Netlink ? SockRaw : SOCK_STREAM) | SOCK_CLOEXEC, 0));

    /// <summary>The errno the filters answer a refused call with.</summary>
    public static int Refused => EPERM;

    /// <summary>The errno clone3 fails with, so glibc falls back to clone.</summary>
    public static int NoSuchCall => ENOSYS;

    /// <summary>"ok", or the errno's symbolic name for the few a probe can give, or "errno N".</summary>
    public static string ErrnoName(int errno) => errno switch
    {
        0 => "ok",
        EPERM => "EPERM",
        ENOSYS => "ENOSYS",
        EINVAL => "EINVAL",
        ENOTTY => "ENOTTY",
        EACCES => "EACCES",
        _ => $"errno {errno}",
    };

    private const int SockRaw = 3;

    /// <summary>openat(path, O_RDONLY).</summary>
    public static int OpenForReading(string path) => CloseOnSuccess(Libc.Open(path, O_RDONLY | O_CLOEXEC, 0));

    /// <summary>openat(path, O_WRONLY|O_CREAT): creates the file (and removes it again) unless refused.</summary>
    public static int CreateFile(string path)
    {
        var result = CloseOnSuccess(Libc.Open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0x180));
        if (result == 0)
        {
            _ = Libc.Unlink(path);
        }

        return result;
    }

    /// <summary>ioctl(fd, TCGETS): ENOTTY on a pipe or file when ioctl is allowed.</summary>
    public static int IoctlTcgets(int fd)
    {
        var termios = stackalloc byte[64];
        return Result(Libc.Ioctl(fd, TCGETS, termios));
    }

    /// <summary>clone(CLONE_SIGHAND) without CLONE_VM and CLONE_THREAD: a process, not a thread. The kernel rejects the
    /// combination (EINVAL), so even without a filter nothing is ever created.</summary>
    public static int CloneProcess() => Result(Libc.Syscall(SYS_clone, CLONE_SIGHAND, 0, 0, 0, 0, 0));

    /// <summary>clone3(NULL, 0): EINVAL (size too small) without a filter.</summary>
    public static int Clone3() => Result(Libc.Syscall(SYS_clone3, 0, 0, 0, 0, 0, 0));

    /// <summary>memfd_create("probe", MFD_CLOEXEC).</summary>
    public static int MemfdCreate() => CloseOnSuccess(Libc.MemfdCreate("spectrum-sandbox-probe", MFD_CLOEXEC));

    /// <summary>kill(getpid(), 0): the kill syscall, aimed harmlessly at this process.</summary>
    public static int KillSelf() => Result(Libc.Syscall(SYS_kill, Libc.GetPid(), 0, 0, 0, 0, 0));

    /// <summary>tgkill(tgid, tid, 0): signal 0 only checks that the thread exists and may be signalled.</summary>
    public static int Tgkill(int tgid, int tid) => Result(Libc.Syscall(SYS_tgkill, tgid, tid, 0, 0, 0, 0));

    /// <summary>gettid().</summary>
    public static int CurrentThreadId() => (int)Libc.Syscall(SYS_gettid, 0, 0, 0, 0, 0, 0);

    /// <summary>execve(path, [path], []). Replaces the process if allowed; under the sidecar's filter it kills it.</summary>
    public static int Execve(string path)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* p = bytes)
        {
            var argv = stackalloc nint[2] { (nint)p, 0 };
            var envp = stackalloc nint[1] { 0 };
            return Result(Libc.Syscall(SYS_execve, (nint)p, (nint)argv, (nint)envp, 0, 0, 0));
        }
    }

    /// <summary>ptrace(PTRACE_TRACEME): killed under the sidecar's filter.</summary>
    public static int PtraceTraceme() => Result(Libc.Syscall(SYS_ptrace, 0, 0, 0, 0, 0, 0));

    /// <summary>getpid through the x32 ABI (number | __X32_SYSCALL_BIT): killed under any filter built here.</summary>
    public static int X32Getpid() => Result(Libc.Syscall(SYS_getpid | __X32_SYSCALL_BIT, 0, 0, 0, 0, 0, 0));

    private static int CloseOnSuccess(int fd)
    {
        if (fd < 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        _ = Libc.Close(fd);
        return 0;
    }

    private static int Result(nint result) => result < 0 ? Marshal.GetLastPInvokeError() : 0;
}
