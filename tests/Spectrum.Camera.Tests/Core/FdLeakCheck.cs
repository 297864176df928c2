using Spectrum.Camera.Native;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// Open-fd accounting around a test: <see cref="FdHandle.CountOpenFds"/> before and after, and on a mismatch the
/// targets of the fds that appeared (eventfd, memfd, socket...) so a leak names itself. The runtime keeps an fd open
/// for every assembly it loads lazily (System.Security.Cryptography on first use, for example); those are not counted.
/// </summary>
internal sealed class FdLeakCheck
{
    private readonly int _count;
    private readonly Dictionary<string, string> _targets;

    private FdLeakCheck()
    {
        _targets = Snapshot();
        _count = FdHandle.CountOpenFds();
    }

    public static FdLeakCheck Start()
    {
        CoreWarmUp.Once();
        return new FdLeakCheck();
    }

    public void AssertNoLeak()
    {
        var appeared = Snapshot().Where(kv => !_targets.TryGetValue(kv.Key, out var t) || t != kv.Value).ToList();
        var now = FdHandle.CountOpenFds();
        var assemblies = appeared.Count(kv => kv.Value.EndsWith(".dll", StringComparison.Ordinal) || kv.Value.EndsWith(".so", StringComparison.Ordinal));
        Assert.That(now - assemblies, Is.EqualTo(_count),
            "open fds after the test; new: " + string.Join(", ", appeared.Select(kv => $"{kv.Key} -> {kv.Value}")));
    }

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
