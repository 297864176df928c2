using Spectrum.Camera.Native.Diagnostics;
using Tmds.Linux;
using static Spectrum.Camera.Native.Sandbox.SyscallNumbers;

namespace Spectrum.Camera.Native.Sandbox;

/// <summary>
/// The sidecar's self-sandbox (spectrum-camera serve, once its socket listens and its device is built): no_new_privs
/// and a seccomp allowlist of what it needs from then on. How the list was derived and why each entry is there:
/// docs/sandboxing.md.
/// </summary>
public static class SidecarSandbox
{
    /// <summary>
    /// The allowlist. Anything not listed fails with EPERM rather than killing the process: the .NET runtime probes
    /// optional kernel features and takes rare paths (thread names, a GC under memory pressure, thread-pool growth)
    /// that a finite workload cannot all exercise, and it handles a failed call, while a killed sidecar is a VM
    /// without a camera. The calls an attacker wants and the sidecar never makes (exec, ptrace, other processes'
    /// memory, kernel modules, mounts, namespaces, bpf, keyrings) kill the process instead, so an attempt is loud.
    /// </summary>
    public static SeccompFilter BuildFilter(int processId)
    {
        var b = SeccompFilter.Create(defaultErrno: LibC.EPERM);

        // Seen after start-up under `strace -f` through the streaming workloads (docs/sandboxing.md), hottest first.
        // The device loop: epoll, eventfd/timerfd reads and writes, the vhost-user and camera-service sockets.
        b.Allow(SYS_read).Allow(SYS_epoll_wait).Allow(SYS_write).Allow(SYS_recvmsg).Allow(SYS_sendmsg)
            .Allow(SYS_epoll_ctl).Allow(SYS_timerfd_settime).Allow(SYS_timerfd_create).Allow(SYS_close).Allow(SYS_fcntl)
            .Allow(SYS_poll).Allow(SYS_accept4).Allow(SYS_connect);

        // Reconnecting to the camera service: Unix sockets only (no AF_INET/AF_INET6/AF_NETLINK: no network at all).
        b.AllowIfArgEquals(SYS_socket, 0, [(uint)(int)LibC.AF_UNIX]);

        // Memory: guest RAM and frame rings (mmap/munmap of received memfds), the GC, the JIT's W^X double mapping.
        b.Allow(SYS_mprotect).Allow(SYS_mmap).Allow(SYS_munmap).Allow(SYS_madvise).Allow(SYS_brk);

        // MMAP capture buffers: each is a new memfd (with exactly the flags the device uses: close-on-exec, sealable),
        // sized once with ftruncate, then sealed against resizing. ftruncate reaches only fds the sidecar holds: frame
        // rings are sealed, and resizing guest RAM (QEMU seals its memfd backend) harms no one but the sidecar's own
        // VM, whose memory the sidecar writes anyway.
        b.AllowIfArgEquals(SYS_memfd_create, 1, [MemFd.SealableFlags]).Allow(SYS_ftruncate);

        // Threads and synchronisation. New threads (thread pool, runtime helpers) come from clone with CLONE_THREAD;
        // clone3 takes its flags in memory a filter cannot read, so it fails with ENOSYS and glibc falls back to clone.
        // A clone without CLONE_THREAD (fork) is refused.
        b.Allow(SYS_futex).Allow(SYS_sched_yield).Allow(SYS_gettid).Allow(SYS_getpid).Allow(SYS_set_robust_list)
            .Allow(SYS_rseq).Allow(SYS_sigaltstack).Allow(SYS_sched_getaffinity).Allow(SYS_sched_setaffinity)
            .Allow(SYS_sched_getparam).Allow(SYS_sched_getscheduler).Allow(SYS_sched_setscheduler)
            .Allow(SYS_sched_get_priority_max).Allow(SYS_sched_get_priority_min)
            .Allow(SYS_exit).Allow(SYS_exit_group);
        b.AllowIfArgHasAnyBit(SYS_clone, 0, (uint)LibC.CLONE_THREAD);
        b.Fail(SYS_clone3, LibC.ENOSYS);

        // Signals: SIGTERM/SIGINT handling (the runtime's handler writes to a pipe its signal thread reads).
        b.Allow(SYS_rt_sigaction).Allow(SYS_rt_sigprocmask).Allow(SYS_pipe2);

        // The runtime loads assemblies lazily (the first camera-service message loads Google.Protobuf) and the native
        // layer checks received eventfds through /proc/self/fd. seccomp cannot filter paths (they are pointers into
        // this process's memory), so openat is allowed read-only: no file can be created, truncated or written.
        // Which files exist at all is the systemd unit's job (ProtectSystem=strict, PrivateDevices: no /dev/video*).
        b.AllowIfArgHasNoBit(SYS_openat, 2, (uint)(LibC.O_WRONLY | LibC.O_RDWR | LibC.O_CREAT | LibC.O_TRUNC | LibC.O_APPEND));
        b.Allow(SYS_stat).Allow(SYS_fstat).Allow(SYS_newfstatat).Allow(SYS_pread64).Allow(SYS_readlink);

        // Removing the vhost-user socket (and the runtime's diagnostics socket) on the way out.
        b.Allow(SYS_unlink);

        // Not seen in the workloads but on runtime paths a longer life takes: returning from any signal handler,
        // GC thread suspension (membarrier to flush other cores' write buffers; a signal to a thread running managed
        // code, only to this process's own threads), sleeping and spinning back-off, the vDSO clock's fallback,
        // the GC's memory-load check, and the kernel's restart of a call a signal interrupted.
        b.Allow(SYS_rt_sigreturn).Allow(SYS_membarrier).AllowIfArgEquals(SYS_tgkill, 0, [(uint)processId])
            .Allow(SYS_nanosleep).Allow(SYS_clock_nanosleep).Allow(SYS_clock_gettime).Allow(SYS_sysinfo)
            .Allow(SYS_restart_syscall);

        // Seen in the self-test's garbage collections: the GC reads its address-space limit (getrlimit(RLIMIT_AS) is
        // prlimit64 with no new limit). Reading only: a call that would set a limit is refused.
        b.AllowIfArgIsNull(SYS_prlimit64, 2);

        // Never needed, and the first things an attacker inside the sidecar would try: kill the process.
        b.Kill(SYS_execve).Kill(SYS_execveat).Kill(SYS_ptrace).Kill(SYS_process_vm_readv).Kill(SYS_process_vm_writev)
            .Kill(SYS_bpf).Kill(SYS_perf_event_open).Kill(SYS_userfaultfd).Kill(SYS_io_uring_setup)
            .Kill(SYS_mount).Kill(SYS_umount2).Kill(SYS_pivot_root).Kill(SYS_chroot).Kill(SYS_open_tree)
            .Kill(SYS_move_mount).Kill(SYS_fsopen).Kill(SYS_fsconfig).Kill(SYS_fsmount).Kill(SYS_fspick)
            .Kill(SYS_setns).Kill(SYS_unshare).Kill(SYS_open_by_handle_at)
            .Kill(SYS_init_module).Kill(SYS_finit_module).Kill(SYS_delete_module).Kill(SYS_kexec_load)
            .Kill(SYS_kexec_file_load).Kill(SYS_reboot).Kill(SYS_swapon).Kill(SYS_swapoff).Kill(SYS_iopl)
            .Kill(SYS_ioperm).Kill(SYS_keyctl).Kill(SYS_add_key).Kill(SYS_request_key);

        // Everything else, ioctl included (the sidecar makes none after start-up, so even a V4L2 device fd would be
        // useless to it), fails with EPERM.
        return b.Build();
    }

    /// <summary>The sidecar's filter for this process.</summary>
    public static SeccompFilter BuildFilter() => BuildFilter(Environment.ProcessId);

    /// <summary>
    /// Sets no_new_privs and installs the sidecar's filter on every thread, logging what it did. A kernel without
    /// seccomp filtering is a warning (the sidecar runs with no_new_privs only) unless <paramref name="required"/>;
    /// any other failure is an error. Returns false when the sidecar must not go on.
    /// </summary>
    public static bool Apply(bool required)
    {
        try
        {
            ProcessSandbox.SetNoNewPrivileges();
            if (ProcessSandbox.ProbeSeccomp(out var reason) == SeccompSupport.Unavailable)
            {
                if (required)
                {
                    Log.Error("sandbox", $"cannot sandbox: {reason}, and --require-sandbox was given");
                    return false;
                }

                Log.Warning("sandbox", $"no_new_privs only, no system-call filter: {reason} " +
                                       "(--require-sandbox makes this an error)");
                return true;
            }

            var filter = BuildFilter();
            ProcessSandbox.InstallSeccomp(filter);
            Log.Info("sandbox", $"no_new_privs + seccomp allowlist of {filter.AllowedCount} system calls " +
                                $"({filter.Rules.Count(r => r.Kind == SeccompRuleKind.KillProcess)} more kill the process, " +
                                $"the rest fail with EPERM)");
            return true;
        }
        catch (Exception e) when (e is SandboxException or NativeException)
        {
            Log.Error("sandbox", $"{e.Message}. Run with --no-sandbox to serve without the self-sandbox.");
            return false;
        }
    }
}
