namespace Spectrum.Camera.Native;

/// <summary>Linux x86_64 constants used by the bindings; each is checked against the headers by a test.</summary>
internal static class LinuxConstants
{
    public const int AF_UNIX = 1;
    public const int SOCK_STREAM = 1;
    public const int SOCK_SEQPACKET = 5;
    public const int SOCK_NONBLOCK = 0x800;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1;
    public const int SCM_RIGHTS = 1;
    public const int SO_PEERCRED = 17;
    public const int MSG_NOSIGNAL = 0x4000;
    public const int MSG_CTRUNC = 0x8;
    public const int MSG_TRUNC = 0x20;
    public const int MSG_CMSG_CLOEXEC = 0x40000000;
    public const int MSG_DONTWAIT = 0x40;
    public const int SHUT_RDWR = 2;

    public const int O_RDONLY = 0;
    public const int O_RDWR = 2;
    public const int O_NONBLOCK = 0x800;
    public const int O_CLOEXEC = 0x80000;
    public const int F_GETFD = 1;
    public const int F_DUPFD_CLOEXEC = 1030;
    public const int F_ADD_SEALS = 1033;
    public const int F_GET_SEALS = 1034;
    public const int F_SEAL_SEAL = 0x1;
    public const int F_SEAL_SHRINK = 0x2;
    public const int F_SEAL_GROW = 0x4;
    public const int F_SEAL_WRITE = 0x8;
    public const int F_SEAL_FUTURE_WRITE = 0x10;
    public const int O_DIRECTORY = 0x10000;
    public const uint S_IFMT = 0xF000;
    public const uint S_IFREG = 0x8000;

    public const int PROT_READ = 1;
    public const int PROT_WRITE = 2;
    public const int MAP_SHARED = 1;
    public const int MAP_PRIVATE = 2;
    public const int MAP_ANONYMOUS = 0x20;
    public const uint MFD_CLOEXEC = 1;
    public const uint MFD_ALLOW_SEALING = 2;

    public const int EFD_CLOEXEC = 0x80000;
    public const int EFD_NONBLOCK = 0x800;
    public const int TFD_CLOEXEC = 0x80000;
    public const int TFD_NONBLOCK = 0x800;
    public const int CLOCK_MONOTONIC = 1;

    public const int EPOLL_CLOEXEC = 0x80000;
    public const int EPOLL_CTL_ADD = 1;
    public const int EPOLL_CTL_DEL = 2;
    public const int EPOLL_CTL_MOD = 3;
    public const uint EPOLLIN = 0x1;
    public const uint EPOLLERR = 0x8;
    public const uint EPOLLHUP = 0x10;
    public const uint EPOLLRDHUP = 0x2000;
    public const short POLLIN = 0x1;
    public const short POLLPRI = 0x2;
    public const short POLLERR = 0x8;
    public const short POLLHUP = 0x10;
    public const short POLLNVAL = 0x20;

    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EBADF = 9;
    public const int ENOENT = 2;
    public const int EPIPE = 32;
    public const int ECONNRESET = 104;
    public const int EADDRINUSE = 98;
    public const int EPERM = 1;
    public const int EIO = 5;
    public const int ENXIO = 6;
    public const int EACCES = 13;
    public const int EBUSY = 16;
    public const int ENODEV = 19;
    public const int EINVAL = 22;
    public const int EMSGSIZE = 90;
    public const int ENOTCONN = 107;
    public const int ECONNREFUSED = 111;
    public const int ENOTTY = 25;

    // ---- sandbox (Sandbox/): prctl, seccomp, classic BPF, and the values the sidecar's filter checks ----
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
    public const int AF_INET = 2;
    public const int AF_INET6 = 10;
    public const int AF_NETLINK = 16;
    public const int O_WRONLY = 1;
    public const int O_CREAT = 0x40;
    public const int O_TRUNC = 0x200;
    public const int O_APPEND = 0x400;
    public const int CLONE_VM = 0x100;
    public const int CLONE_SIGHAND = 0x800;
    public const int CLONE_THREAD = 0x10000;
    public const int ENOSYS = 38;
    public const int ENOMEM = 12;
    public const int EOPNOTSUPP = 95;
    public const int ESRCH = 3;
    public const int SIGSYS = 31;
    public const int TCGETS = 0x5401;
}
