using System.Globalization;
using Spectrum.Camera.Tests.Core;

namespace Spectrum.Camera.Tests.Resources;

/// <summary>What a storm may cost the process: managed heap after a full GC, resident set, project fds.</summary>
internal readonly record struct ProcessResources(long HeapBytes, long RssBytes, int ProjectFds)
{
    public static ProcessResources Measure()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return new ProcessResources(GC.GetTotalMemory(forceFullCollection: true), Rss(), FdLeakCheck.CountProjectFds());
    }

    public static string MiB(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";

    public override string ToString() => $"heap {MiB(HeapBytes)}, RSS {MiB(RssBytes)}, {ProjectFds} project fds";

    private static long Rss()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException("no VmRSS in /proc/self/status");
    }
}
