using System.Runtime.InteropServices;
using Spectrum.Camera.Bench.Reporting;
using Tmds.Linux;

namespace Spectrum.Camera.Bench.Native;

/// <summary>
/// What Tmds.LibC's bindings (DllImport with SetLastError, marshalled by a stub the runtime generates) cost against
/// source-generated [LibraryImport]s of the same functions, on the calls the device loop makes for every frame:
/// eventfd write and read, epoll_wait, sendmsg and recvmsg. Each pair runs interleaved in one process
/// (<see cref="PairedRatio"/>), because the build machines are shared and BenchmarkDotNet's one-after-the-other runs
/// see different load. The LibraryImports here are the baselines, not bindings the product uses.
/// </summary>
internal static unsafe partial class LibcBindingPairs
{
    /// <summary>Calls per timed block: short blocks, so a descheduling disturbs few rounds.</summary>
    private const int Block = 100;

    /// <summary>One comparison: the median per-round ratio candidate / baseline and what each side took.</summary>
    public sealed record Pair(string Key, string Baseline, string Candidate, PairedRatio.Result Result);

    /// <summary>Runs every pair for <paramref name="rounds"/> rounds.</summary>
    public static List<Pair> Measure(int rounds)
    {
        using var rig = new Rig();
        return
        [
            new("eventfd_write_read", "[LibraryImport]", "Tmds.LibC", PairedRatio.Measure(rig.EventFdLibraryImport, rig.EventFdTmds, rounds, Block)),
            new("eventfd_write_read_dllimport", "[LibraryImport]", "[DllImport] of nint/nuint", PairedRatio.Measure(rig.EventFdLibraryImport, rig.EventFdDllImport, rounds, Block)),
            new("epoll_wait", "[LibraryImport]", "Tmds.LibC", PairedRatio.Measure(rig.EpollLibraryImport, rig.EpollTmds, rounds, Block)),
            new("sendmsg_recvmsg", "[LibraryImport]", "Tmds.LibC", PairedRatio.Measure(rig.MessageLibraryImport, rig.MessageTmds, rounds, Block)),
            new("no_syscall", "[LibraryImport]", "Tmds.LibC", PairedRatio.Measure(rig.NoSyscallLibraryImport, rig.NoSyscallTmds, rounds, Block)),
        ];
    }

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    private static partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    private static partial int EpollWait(int epfd, epoll_event* events, int maxEvents, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
    private static partial nint SendMsg(int fd, msghdr* message, int flags);

    [LibraryImport("libc", EntryPoint = "recvmsg", SetLastError = true)]
    private static partial nint RecvMsg(int fd, msghdr* message, int flags);

    /// <summary>sigemptyset: a libc call that makes no system call, so only the binding's own cost is left.</summary>
    [LibraryImport("libc", EntryPoint = "sigemptyset", SetLastError = true)]
    private static partial int SigEmptySet(sigset_t* set);

    /// <summary>The same read and write as a runtime-marshalled DllImport of plain nint/nuint, to tell the stub's cost
    /// from that of Tmds.LibC's ssize_t/size_t wrapper structs.</summary>
    private static class Classic
    {
        [DllImport("libc", EntryPoint = "read", SetLastError = true)]
        public static extern nint Read(int fd, void* buffer, nuint count);

        [DllImport("libc", EntryPoint = "write", SetLastError = true)]
        public static extern nint Write(int fd, void* buffer, nuint count);
    }

    /// <summary>An eventfd, an epoll instance with one always-ready fd, and a seqpacket socketpair.</summary>
    private sealed class Rig : IDisposable
    {
        private const int Events = 64;
        private const int MessageBytes = 64;
        private readonly int _eventFd;
        private readonly int _readyFd;
        private readonly int _epoll;
        private readonly int _sender;
        private readonly int _receiver;

        public Rig()
        {
            _eventFd = Check(LibC.eventfd(0, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC), "eventfd");
            _readyFd = Check(LibC.eventfd(1, LibC.EFD_NONBLOCK | LibC.EFD_CLOEXEC), "eventfd");
            _epoll = Check(LibC.epoll_create1(LibC.EPOLL_CLOEXEC), "epoll_create1");
            var ev = new epoll_event { events = LibC.EPOLLIN };
            Check(LibC.epoll_ctl(_epoll, LibC.EPOLL_CTL_ADD, _readyFd, &ev), "epoll_ctl"); // level-triggered, never consumed
            var pair = stackalloc int[2];
            Check(LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_SEQPACKET | LibC.SOCK_CLOEXEC, 0, pair), "socketpair");
            (_sender, _receiver) = (pair[0], pair[1]);
        }

        public void EventFdLibraryImport()
        {
            ulong value = 1;
            Expect(Write(_eventFd, &value, 8) == 8 && Read(_eventFd, &value, 8) == 8);
        }

        public void EventFdDllImport()
        {
            ulong value = 1;
            Expect(Classic.Write(_eventFd, &value, 8) == 8 && Classic.Read(_eventFd, &value, 8) == 8);
        }

        public void EventFdTmds()
        {
            ulong value = 1;
            Expect(LibC.write(_eventFd, &value, 8) == 8 && LibC.read(_eventFd, &value, 8) == 8);
        }

        public void EpollLibraryImport()
        {
            var events = stackalloc epoll_event[Events];
            Expect(EpollWait(_epoll, events, Events, 0) == 1);
        }

        public void EpollTmds()
        {
            var events = stackalloc epoll_event[Events];
            Expect(LibC.epoll_wait(_epoll, events, Events, 0) == 1);
        }

        public void MessageLibraryImport()
        {
            var data = stackalloc byte[MessageBytes];
            var iov = new iovec { iov_base = data, iov_len = MessageBytes };
            var message = new msghdr { msg_iov = &iov, msg_iovlen = 1 };
            Expect(SendMsg(_sender, &message, LibC.MSG_NOSIGNAL | LibC.MSG_DONTWAIT) == MessageBytes);
            Expect(RecvMsg(_receiver, &message, LibC.MSG_CMSG_CLOEXEC | LibC.MSG_DONTWAIT) == MessageBytes);
        }

        public void MessageTmds()
        {
            var data = stackalloc byte[MessageBytes];
            var iov = new iovec { iov_base = data, iov_len = MessageBytes };
            var message = new msghdr { msg_iov = &iov, msg_iovlen = 1 };
            Expect(LibC.sendmsg(_sender, &message, LibC.MSG_NOSIGNAL | LibC.MSG_DONTWAIT) == MessageBytes);
            Expect(LibC.recvmsg(_receiver, &message, LibC.MSG_CMSG_CLOEXEC | LibC.MSG_DONTWAIT) == MessageBytes);
        }

        public void NoSyscallLibraryImport()
        {
            sigset_t set;
            Expect(SigEmptySet(&set) == 0);
        }

        public void NoSyscallTmds()
        {
            sigset_t set;
            Expect(LibC.sigemptyset(&set) == 0);
        }

        public void Dispose()
        {
            foreach (var fd in new[] { _eventFd, _readyFd, _epoll, _sender, _receiver })
            {
                _ = LibC.close(fd);
            }
        }

        private static int Check(int result, string call) =>
            result >= 0 ? result : throw new InvalidOperationException($"{call} failed: errno {Marshal.GetLastPInvokeError()}");

        private static void Expect(bool ok)
        {
            if (!ok)
            {
                throw new InvalidOperationException($"a libc call failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
    }
}
