using Spectrum.Camera.Native.Sandbox;
using Tmds.Linux;
using static Spectrum.Camera.Native.LinuxConstants;
using static Spectrum.Camera.Native.Sandbox.SyscallNumbers;

namespace Spectrum.Camera.Tests.Sandbox;

/// <summary>
/// The compiled BPF program, run through the filter's own interpreter (no kernel involved): the architecture and x32
/// checks, each rule kind, the sidecar's allowlist, and the program's shape (every jump lands inside it, every path
/// ends in a return). The kernel's view of the same program is tested by SandboxSelftestTests.
/// </summary>
[TestFixture]
public sealed class SeccompFilterTests
{
    private const uint Allow = SECCOMP_RET_ALLOW;
    private const uint Kill = SECCOMP_RET_KILL_PROCESS;
    private static readonly uint Eperm = SECCOMP_RET_ERRNO | (uint)LibC.EPERM;
    private const int Pid = 4242;

    private static readonly SeccompFilter Sidecar = SidecarSandbox.BuildFilter(Pid);
    private static readonly string[] SmallFilterRules = ["allow read", "allow socket if arg0 in [0x1, 0x2]"];

    [Test]
    public void Another_architecture_and_the_x32_abi_kill_the_process()
    {
        const uint auditArchI386 = 0x40000003;
        Assert.Multiple(() =>
        {
            Assert.That(Sidecar.Evaluate(SYS_read, auditArchI386), Is.EqualTo(Kill), "i386 (int 0x80)");
            Assert.That(Sidecar.Evaluate(SYS_read | __X32_SYSCALL_BIT), Is.EqualTo(Kill), "x32 read");
            Assert.That(Sidecar.Evaluate(-1), Is.EqualTo(Kill), "a number with bit 30 set");
        });
    }

    [TestCase(SYS_read)]
    [TestCase(SYS_epoll_wait)]
    [TestCase(SYS_recvmsg)]
    [TestCase(SYS_sendmsg)]
    [TestCase(SYS_futex)]
    [TestCase(SYS_mmap)]
    [TestCase(SYS_membarrier)]
    [TestCase(SYS_exit_group)]
    public void The_device_loop_and_runtime_calls_are_allowed(int number) =>
        Assert.That(Sidecar.Evaluate(number), Is.EqualTo(Allow));

    [TestCase(SYS_ioctl)]
    [TestCase(SYS_memfd_create)]
    [TestCase(SYS_fork)]
    [TestCase(SYS_vfork)]
    [TestCase(SYS_kill)]
    [TestCase(SYS_lseek)]
    [TestCase(999)]
    public void Anything_unlisted_fails_with_eperm(int number) => Assert.That(Sidecar.Evaluate(number), Is.EqualTo(Eperm));

    [TestCase(SYS_execve)]
    [TestCase(SYS_execveat)]
    [TestCase(SYS_ptrace)]
    [TestCase(SYS_process_vm_writev)]
    [TestCase(SYS_bpf)]
    [TestCase(SYS_mount)]
    [TestCase(SYS_kexec_load)]
    [TestCase(SYS_init_module)]
    [TestCase(SYS_finit_module)]
    [TestCase(SYS_unshare)]
    [TestCase(SYS_setns)]
    public void Calls_an_attacker_wants_kill_the_process(int number) => Assert.That(Sidecar.Evaluate(number), Is.EqualTo(Kill));

    [Test]
    public void Memfds_only_with_the_buffer_flags_and_ftruncate_for_mmap_capture_buffers()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Sidecar.Evaluate(SYS_memfd_create, args: [0, Arg((int)(LibC.MFD_CLOEXEC | LibC.MFD_ALLOW_SEALING))]), Is.EqualTo(Allow));
            Assert.That(Sidecar.Evaluate(SYS_memfd_create, args: [0, Arg((int)LibC.MFD_CLOEXEC)]), Is.EqualTo(Eperm), "without sealing");
            Assert.That(Sidecar.Evaluate(SYS_memfd_create, args: [0, Arg((int)(LibC.MFD_ALLOW_SEALING | LibC.MFD_HUGETLB))]), Is.EqualTo(Eperm),
                "other flags");
            Assert.That(Sidecar.Evaluate(SYS_ftruncate, args: [5, 65536]), Is.EqualTo(Allow));
        });
    }

    [Test]
    public void Sockets_are_unix_only()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Sidecar.Evaluate(SYS_socket, args: [Arg(LibC.AF_UNIX), Arg(LibC.SOCK_SEQPACKET)]), Is.EqualTo(Allow));
            Assert.That(Sidecar.Evaluate(SYS_socket, args: [Arg(LibC.AF_INET), Arg(LibC.SOCK_STREAM)]), Is.EqualTo(Eperm));
            Assert.That(Sidecar.Evaluate(SYS_socket, args: [Arg(LibC.AF_INET6), Arg(LibC.SOCK_STREAM)]), Is.EqualTo(Eperm));
            Assert.That(Sidecar.Evaluate(SYS_socket, args: [Arg(LibC.AF_NETLINK), Arg(LibC.SOCK_RAW)]), Is.EqualTo(Eperm));
        });
    }

    [Test]
    public void Files_open_read_only()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Sidecar.Evaluate(SYS_openat, args: [0, 0, Arg(LibC.O_RDONLY | LibC.O_CLOEXEC)]), Is.EqualTo(Allow));
            Assert.That(Sidecar.Evaluate(SYS_openat, args: [0, 0, Arg(LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_NONBLOCK)]), Is.EqualTo(Allow));
            foreach (var flags in new[] { LibC.O_WRONLY, LibC.O_RDWR, LibC.O_RDONLY | LibC.O_CREAT, LibC.O_RDONLY | LibC.O_TRUNC, LibC.O_WRONLY | LibC.O_APPEND })
            {
                Assert.That(Sidecar.Evaluate(SYS_openat, args: [0, 0, (ulong)flags]), Is.EqualTo(Eperm), $"flags 0x{flags:x}");
            }
        });
    }

    [Test]
    public void Threads_may_be_created_but_not_processes_and_clone3_falls_back_to_clone()
    {
        const int threadFlags = 0x3d0f00; // glibc's pthread_create: CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|...
        Assert.Multiple(() =>
        {
            Assert.That(Sidecar.Evaluate(SYS_clone, args: [threadFlags]), Is.EqualTo(Allow));
            Assert.That(Sidecar.Evaluate(SYS_clone, args: [17]), Is.EqualTo(Eperm), "fork: SIGCHLD only");
            Assert.That(Sidecar.Evaluate(SYS_clone, args: [Arg(LibC.CLONE_VM | 17)]), Is.EqualTo(Eperm), "vfork-like");
            Assert.That(Sidecar.Evaluate(SYS_clone3), Is.EqualTo(SECCOMP_RET_ERRNO | (uint)LibC.ENOSYS));
        });
    }

    [Test]
    public void Signals_only_to_this_process_and_rlimits_read_only()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Sidecar.Evaluate(SYS_tgkill, args: [Pid, 17, 34]), Is.EqualTo(Allow));
            Assert.That(Sidecar.Evaluate(SYS_tgkill, args: [1, 1, 9]), Is.EqualTo(Eperm));
            Assert.That(Sidecar.Evaluate(SYS_prlimit64, args: [0, 9, 0, 0x7ffc0000]), Is.EqualTo(Allow), "getrlimit");
            Assert.That(Sidecar.Evaluate(SYS_prlimit64, args: [0, 9, 0x7ffc0000, 0]), Is.EqualTo(Eperm), "setrlimit");
            Assert.That(Sidecar.Evaluate(SYS_prlimit64, args: [0, 9, 0x7ffc_0000_0000, 0]), Is.EqualTo(Eperm),
                "a pointer whose low half is zero is still not NULL");
        });
    }

    [Test]
    public void The_sidecar_filter_allows_what_serve_needs_and_is_a_valid_program()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Sidecar.AllowedCount, Is.InRange(40, 70), "allowlist size");
            Assert.That(Sidecar.DefaultErrno, Is.EqualTo(LibC.EPERM));
            Assert.That(Sidecar.Rules.Select(r => r.Name), Does.Contain("read").And.Contain("clone3").And.Contain("execve"));
            Assert.That(Sidecar.Rules.Select(r => r.Number).Distinct().Count(), Is.EqualTo(Sidecar.Rules.Count), "one rule per call");
            Assert.That(Sidecar.InstructionCount, Is.LessThan(BPF_MAXINSNS));
        });
        AssertWellFormed(Sidecar);
    }

    [Test]
    public void A_call_may_have_only_one_rule_and_arguments_are_0_to_5()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => SeccompFilter.Create().Allow(SYS_read).Kill(SYS_read), Throws.ArgumentException.With.Message.Contains("read"));
            Assert.That(() => SeccompFilter.Create().AllowIfArgEquals(SYS_socket, 6, [1]), Throws.InstanceOf<ArgumentOutOfRangeException>());
            Assert.That(() => SeccompFilter.Create().AllowIfArgEquals(SYS_socket, 0, []), Throws.ArgumentException);
        });
    }

    [Test]
    public void A_small_filter_compiles_to_the_expected_program()
    {
        var f = SeccompFilter.Create(defaultErrno: LibC.EACCES).Allow(SYS_read)
            .AllowIfArgEquals(SYS_socket, 0, [(uint)Arg(LibC.AF_UNIX), (uint)Arg(LibC.AF_INET)]).Build();
        var expected = new[]
        {
            "{ 0x20, 0, 0, 0x00000004 }", "{ 0x15, 1, 0, 0xc000003e }", "{ 0x06, 0, 0, 0x80000000 }", // arch
            "{ 0x20, 0, 0, 0x00000000 }", "{ 0x35, 0, 1, 0x40000000 }", "{ 0x06, 0, 0, 0x80000000 }", // nr, x32
            "{ 0x15, 0, 1, 0x00000000 }", "{ 0x06, 0, 0, 0x7fff0000 }", // read
            "{ 0x15, 0, 6, 0x00000029 }", "{ 0x20, 0, 0, 0x00000010 }", // socket: load args[0]
            "{ 0x15, 0, 1, 0x00000001 }", "{ 0x06, 0, 0, 0x7fff0000 }",
            "{ 0x15, 0, 1, 0x00000002 }", "{ 0x06, 0, 0, 0x7fff0000 }",
            "{ 0x06, 0, 0, 0x0005000d }", // socket, another family
            "{ 0x06, 0, 0, 0x0005000d }", // default: EACCES
        };
        Assert.That(f.Program.Select(i => i.ToString()), Is.EqualTo(expected));
        Assert.That(f.AllowedCount, Is.EqualTo(2));
        Assert.That(f.Rules.Select(r => r.ToString()), Is.EqualTo(SmallFilterRules));
    }

    /// <summary>Every conditional jump's both targets are inside the program, and the last instruction returns.</summary>
    private static void AssertWellFormed(SeccompFilter filter)
    {
        var program = filter.Program;
        Assert.That(program[^1].Code, Is.EqualTo(BPF_RET | BPF_K));
        for (var pc = 0; pc < program.Length; pc++)
        {
            if ((program[pc].Code & 0x07) == BPF_JMP)
            {
                Assert.That(pc + 1 + Math.Max(program[pc].JumpTrue, program[pc].JumpFalse), Is.LessThan(program.Length), $"jump at {pc}");
            }
        }
    }

    /// <summary>An int argument as the 64-bit value seccomp_data carries (sign-extended, as in the register).</summary>
    private static ulong Arg(int value) => unchecked((ulong)value);
}
