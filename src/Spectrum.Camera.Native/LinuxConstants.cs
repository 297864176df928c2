namespace Spectrum.Camera.Native;

/// <summary>
/// The x86_64 Linux constants the project uses that Tmds.LibC 0.5.0 does not define (timerfd, the newer memfd seal,
/// prctl, seccomp and classic BPF). Everything else comes from <c>Tmds.Linux.LibC</c>. NativeLayoutTests checks each
/// value here, and each Tmds.LibC constant the project reads, against the C headers.
/// </summary>
internal static class LinuxConstants
{
    // Linux 5.1: the seal that keeps existing writable mappings but refuses new ones (Tmds.LibC stops at F_SEAL_WRITE).
    public const int F_SEAL_FUTURE_WRITE = 0x10;

    public const int TFD_CLOEXEC = 0x80000;
    public const int TFD_NONBLOCK = 0x800;
    public const int TFD_TIMER_ABSTIME = 1;
    public const int CLOCK_MONOTONIC = 1;

    // ---- sandbox (Sandbox/): prctl, seccomp, classic BPF ----
    public const int PR_SET_NO_NEW_PRIVS = 38;
    public const int PR_GET_NO_NEW_PRIVS = 39;
    public const int SECCOMP_SET_MODE_FILTER = 1;
    public const int SECCOMP_GET_ACTION_AVAIL = 2;
    public const uint SECCOMP_FILTER_FLAG_TSYNC = 1;
    public const uint SECCOMP_FILTER_FLAG_LOG = 2;
    public const uint SECCOMP_RET_KILL_PROCESS = 0x80000000;
    public const uint SECCOMP_RET_ERRNO = 0x00050000;
    public const uint SECCOMP_RET_ALLOW = 0x7fff0000;
    public const uint SECCOMP_RET_DATA = 0x0000ffff;
    public const uint AUDIT_ARCH_X86_64 = 0xc000003e;
    public const int __X32_SYSCALL_BIT = 0x40000000;
    public const ushort BPF_LD = 0x00;
    public const ushort BPF_W = 0x00;
    public const ushort BPF_ABS = 0x20;
    public const ushort BPF_JMP = 0x05;
    public const ushort BPF_JEQ = 0x10;
    public const ushort BPF_JGE = 0x30;
    public const ushort BPF_JSET = 0x40;
    public const ushort BPF_K = 0x00;
    public const ushort BPF_RET = 0x06;
    public const int BPF_MAXINSNS = 4096;
}
