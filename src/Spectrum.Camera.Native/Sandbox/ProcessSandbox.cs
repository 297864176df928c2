using System.Runtime.InteropServices;
using Tmds.Linux;
using static Spectrum.Camera.Native.LinuxConstants;

namespace Spectrum.Camera.Native.Sandbox;

/// <summary>Whether this kernel can install the project's seccomp filters.</summary>
public enum SeccompSupport
{
    Available,

    /// <summary>No seccomp filter support (EINVAL/ENOSYS: CONFIG_SECCOMP_FILTER off), or no SECCOMP_RET_KILL_PROCESS (before Linux 4.14).</summary>
    Unavailable,
}

/// <summary>Installing a filter failed for a reason other than a kernel without seccomp.</summary>
public sealed class SandboxException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>
/// Self-sandboxing of this process: no_new_privs (prctl(2)) and a seccomp filter (seccomp(2)) installed on every
/// thread at once. Both are one-way: nothing can lift them for the rest of the process's life. glibc 2.36 has no
/// seccomp() wrapper, so that call goes through syscall(2) with the x86_64 number.
/// </summary>
public static unsafe class ProcessSandbox
{
    /// <summary>prctl(PR_SET_NO_NEW_PRIVS, 1): execve can no longer grant privileges (setuid bits, file capabilities).
    /// Also what lets an unprivileged process install a seccomp filter.</summary>
    public static void SetNoNewPrivileges()
    {
        if (LibcSupplement.Prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        {
            throw NativeException.Last("prctl(PR_SET_NO_NEW_PRIVS)");
        }
    }

    /// <summary>prctl(PR_GET_NO_NEW_PRIVS).</summary>
    public static bool NoNewPrivileges => LibcSupplement.Prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;

    /// <summary>
    /// Asks the kernel whether SECCOMP_RET_KILL_PROCESS is available (seccomp(SECCOMP_GET_ACTION_AVAIL)): that answers
    /// both "is there seccomp filtering at all" and "is it new enough for the filters built here".
    /// </summary>
    public static SeccompSupport ProbeSeccomp(out string reason)
    {
        var action = SECCOMP_RET_KILL_PROCESS;
        if ((int)LibC.syscall(SyscallNumbers.SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, (void*)&action) == 0)
        {
            reason = "";
            return SeccompSupport.Available;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno == LibC.ENOSYS || errno == LibC.EINVAL)
        {
            reason = $"the kernel has no seccomp filtering ({NativeException.Describe(errno)})";
            return SeccompSupport.Unavailable;
        }

        if (errno == LibC.EOPNOTSUPP)
        {
            reason = "the kernel has no SECCOMP_RET_KILL_PROCESS (Linux 4.14 or later is needed)";
            return SeccompSupport.Unavailable;
        }

        throw new SandboxException($"cannot query seccomp support: {NativeException.Describe(errno)} (errno {errno}); " +
                                   "an outer seccomp filter (container runtime, systemd unit) may refuse seccomp(2)");
    }

    /// <summary>
    /// Installs <paramref name="filter"/> on every thread of the process (SECCOMP_FILTER_FLAG_TSYNC), so the .NET
    /// runtime's own threads (GC, finalizer, thread pool, signal handling) are filtered too, not just the caller.
    /// Refused calls are also reported to the kernel's audit log (SECCOMP_FILTER_FLAG_LOG). no_new_privs must be set
    /// first (or the process must have CAP_SYS_ADMIN). Throws <see cref="SandboxException"/> with the reason.
    /// </summary>
    public static void InstallSeccomp(SeccompFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var program = filter.Program;
        fixed (SockFilter* instructions = program)
        {
            var fprog = new SockFprog { Length = checked((ushort)program.Length), Filter = instructions };
            var result = (int)LibC.syscall(SyscallNumbers.SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG, (void*)&fprog);
            if (result == 0)
            {
                return;
            }

            if (result > 0)
            {
                // TSYNC returns the id of a thread that cannot take the filter: it already runs under a filter this
                // thread does not share (someone installed one on that thread alone).
                throw new SandboxException($"seccomp: thread {result} already has a seccomp filter of its own, so the filter " +
                                           "cannot be synchronised onto every thread (SECCOMP_FILTER_FLAG_TSYNC); nothing was installed");
            }

            var errno = Marshal.GetLastPInvokeError();
            var advice = errno == LibC.EACCES ? ": no_new_privs is not set and the process lacks CAP_SYS_ADMIN"
                : errno == LibC.EINVAL ? ": the kernel refused the program or a flag"
                : errno == LibC.ENOMEM ? ": too many filters or instructions on this process"
                : "";
            throw new SandboxException($"seccomp(SECCOMP_SET_MODE_FILTER) failed: {NativeException.Describe(errno)} (errno {errno}){advice}",
                new NativeException("seccomp", errno));
        }
    }
}
