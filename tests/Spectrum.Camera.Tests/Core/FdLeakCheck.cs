using Spectrum.Camera.Native;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// Open-fd accounting around a test. Two checks: <see cref="FdHandle.CountOpenFds"/> must not grow (the runtime's own
/// files, which it opens and closes lazily for assemblies and symbol files, are not counted), and the fds of the
/// kinds this project creates (eventfd, epoll, timerfd, socket, memfd) must be exactly the same set. On a mismatch the
/// new fds are listed by target, so a leak names itself.
/// </summary>
internal sealed class FdLeakCheck
{
    private static readonly string[] RuntimeFile = [".dll", ".so", ".pdb"];
    private static readonly string[] ProjectKind = ["anon_inode:[eventfd]", "anon_inode:[eventpoll]", "anon_inode:[timerfd]", "socket:", "/memfd:"];

    private readonly int _count;
    private readonly Dictionary<string, string> _targets;

    private FdLeakCheck()
    {
        _targets = Snapshot();
        _count = FdHandle.CountOpenFds();
    }

    /// <summary>
    /// Open fds of the kinds this project creates (eventfd, epoll, timerfd, socket, memfd). Unlike a raw count, it
    /// does not move when the runtime lazily opens an assembly or data file, so tests can compare it exactly.
    /// </summary>
    public static int CountProjectFds() => ProjectFds(Snapshot()).Count;

    public static FdLeakCheck Start()
    {
        CoreWarmUp.Once();
        return new FdLeakCheck();
    }

    public void AssertNoLeak()
    {
        var now = Snapshot();
        var count = FdHandle.CountOpenFds();
        var appeared = now.Where(kv => !_targets.TryGetValue(kv.Key, out var t) || t != kv.Value).ToList();
        var runtimeFiles = appeared.Count(kv => RuntimeFile.Any(suffix => kv.Value.EndsWith(suffix, StringComparison.Ordinal)));
        var description = "new: " + string.Join(", ", appeared.Select(kv => $"{kv.Key} -> {kv.Value}"));
        Assert.Multiple(() =>
        {
            Assert.That(count - runtimeFiles, Is.LessThanOrEqualTo(_count), "open fds after the test; " + description);
            Assert.That(ProjectFds(now), Is.EquivalentTo(ProjectFds(_targets)), "eventfd/epoll/socket/memfd fds; " + description);
        });
    }

    private static List<string> ProjectFds(Dictionary<string, string> snapshot) =>
        [.. snapshot.Where(kv => ProjectKind.Any(k => kv.Value.StartsWith(k, StringComparison.Ordinal))).Select(kv => $"{kv.Key} -> {kv.Value}")];

    private static Dictionary<string, string> Snapshot()
    {
        var result = new Dictionary<string, string>();
        foreach (var entry in Directory.GetFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                result[Path.GetFileName(entry)] = new FileInfo(entry).LinkTarget ?? "?";
            }
            catch (IOException)
            {
                // The enumeration's own directory fd is gone by now.
            }
        }

        return result;
    }
}
