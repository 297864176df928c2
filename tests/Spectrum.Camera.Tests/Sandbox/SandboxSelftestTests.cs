using Spectrum.Camera.Tests.Cli;

namespace Spectrum.Camera.Tests.Sandbox;

/// <summary>
/// The kernel's side of the sidecar's sandbox: `spectrum-camera sandbox-selftest` installs exactly the filter `serve`
/// installs and makes forbidden and allowed system calls in a real process.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SandboxSelftestTests
{
    private const int KilledBySigsys = 128 + 31;

    private static readonly string[] Forbidden =
    [
        "socket(AF_INET)", "socket(AF_INET6)", "socket(AF_NETLINK)", "openat(O_WRONLY|O_CREAT)", "ioctl(TCGETS)",
        "clone(a process)", "memfd_create", "kill(self, 0)", "tgkill(1, 1, 0)",
    ];

    private static readonly string[] Allowed =
    [
        "socket(AF_UNIX)", "MMAP buffer (sealable memfd, ftruncate)", "openat(/proc/self/status, O_RDONLY)", "tgkill(self, self, 0)",
        "new thread (clone CLONE_THREAD)",
        "garbage collections on 4 threads",
    ];

    [Test]
    public void Forbidden_calls_fail_with_eperm_and_the_calls_serve_needs_still_work_on_every_thread()
    {
        var (code, stdout, stderr) = SidecarProcess.Run("sandbox-selftest");
        Assert.That(code, Is.Zero, stdout + stderr);
        Assert.That(stderr, Does.Match(@"sandbox: no_new_privs \+ seccomp allowlist of \d+ system calls"));
        Assert.Multiple(() =>
        {
            foreach (var call in Forbidden)
            {
                Assert.That(Line(stdout, call), Does.Match(@"\sEPERM\s+expected EPERM\s+pass$"), call);
            }

            Assert.That(Line(stdout, "clone3"), Does.Match(@"\sENOSYS\s+expected ENOSYS\s+pass$"), "clone3 falls back to clone");
            foreach (var call in Allowed)
            {
                Assert.That(Line(stdout, call), Does.Match(@"\sok\s+expected ok\s+pass$"), call);
            }

            Assert.That(Line(stdout, "process NoNewPrivs"), Does.Contain(" 1 "));
            Assert.That(stdout.Split('\n').Count(l => l.StartsWith("thread ", StringComparison.Ordinal) && l.Contains("Seccomp", StringComparison.Ordinal)),
                Is.GreaterThan(1), "the runtime's threads that existed before the filter are listed");
            Assert.That(stdout, Does.Not.Contain("FAIL"));
            Assert.That(stdout, Does.Contain("sandbox self-test passed"));
        });
    }

    [Test]
    public void Without_the_filter_none_of_the_forbidden_calls_gives_eperm()
    {
        // Shows the probes are meaningful: the EPERMs above come from the filter, not from the environment.
        var (code, stdout, stderr) = SidecarProcess.Run("sandbox-selftest", "--no-filter");
        Assert.That(code, Is.Zero, stdout + stderr);
        Assert.Multiple(() =>
        {
            foreach (var call in Forbidden.Append("clone3"))
            {
                Assert.That(Line(stdout, call), Does.Not.Match(@"\s(EPERM|ENOSYS)\s+expected"), call);
            }
        });
    }

    [TestCase("execve")]
    [TestCase("ptrace")]
    [TestCase("x32")]
    public void A_call_on_the_kill_list_kills_the_process_with_sigsys(string call)
    {
        var (code, stdout, stderr) = SidecarProcess.Run("sandbox-selftest", "--try", call);
        Assert.That(code, Is.EqualTo(KilledBySigsys), stdout + stderr);
        Assert.That(stdout, Does.Contain($"trying {call}").And.Not.Contain("NOT killed"));
    }

    [Test]
    public void List_prints_every_rule_and_the_allowlist_size()
    {
        var (code, stdout, _) = SidecarProcess.Run("sandbox-selftest", "--list");
        Assert.That(code, Is.Zero);
        Assert.That(stdout, Does.Contain("allow read\n").And.Contain("allow socket if arg0 in [0x1]").And.Contain("kill execve")
            .And.Contain("errno 38 clone3").And.Match(@"default: errno 1; \d+ system calls allowed, \d+ BPF instructions"));
    }

    private static string Line(string output, string call) =>
        output.Split('\n').Select(l => l.TrimEnd('\r')).FirstOrDefault(l => l.StartsWith(call + " ", StringComparison.Ordinal))
        ?? $"(no line for {call})";
}
