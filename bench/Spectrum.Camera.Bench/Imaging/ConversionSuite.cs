using System.Diagnostics;
using System.Globalization;
using System.Runtime.Intrinsics.X86;
using Spectrum.Camera.Bench.Reporting;

namespace Spectrum.Camera.Bench.Imaging;

/// <summary>
/// The conversion suite's measurements and metrics: BenchmarkDotNet over the benchmarked cases, and for every case the
/// interleaved pairs that carry the targets (ours against libswscale, and each against a plain copy of the same
/// bytes). On a machine with AVX-512 the pairs are measured a second time in a child process with AVX-512 turned off
/// (<c>DOTNET_EnableAVX512=0</c>), which is what an AVX2-only machine runs: the scaler's horizontal pass gathers with
/// AVX-512 VBMI's byte permute where it can, and with 16-byte shuffles otherwise.
/// </summary>
internal static class ConversionSuite
{
    /// <summary>The option that makes the program print the paired ratios only (the child process).</summary>
    public const string PairedOnlyOption = "--paired-conversions";

    private static string SwscaleName => "libswscale " + Swscale.VersionString() + " (SWS_AREA), same frame, same process";

    public static void Measure(List<Metric> metrics, bool quick)
    {
        var summary = Bdn.Run<ConversionBenchmarks>(BenchSettings.Throughput());
        var rounds = quick ? 40 : 300;
        var withoutAvx512 = Avx512Vbmi.VL.IsSupported ? PairedInChild(quick) : null;
        foreach (var c in ConversionCase.All)
        {
            if (c.Benchmarked)
            {
                var ours = Bdn.Mean(summary, nameof(ConversionBenchmarks.Spectrum), c);
                var theirs = Bdn.Mean(summary, nameof(ConversionBenchmarks.Libswscale), c);
                var baseline = new Baseline(SwscaleName, theirs, "ns");
                metrics.Add(new($"convert.{c.Key}.spectrum_ns", ours, "ns", null, baseline, $"max |ours - swscale| = {ConversionBenchmarks.MaxDifference.GetValueOrDefault(c.Key, -1)}"));
                metrics.Add(new($"convert.{c.Key}.speedup_vs_swscale", theirs / ours, "x", null, baseline, "BenchmarkDotNet means; the _paired figure carries the target"));
                var floor = new Baseline("memcpy of the destination's bytes", Bdn.Mean(summary, nameof(ConversionBenchmarks.CopyFloor), c), "ns");
                metrics.Add(new($"convert.{c.Key}.spectrum_ratio_vs_copy_floor", ours / floor.Value, "x", null, floor));
                metrics.Add(new($"convert.{c.Key}.swscale_ratio_vs_copy_floor", theirs / floor.Value, "x", null, floor));
            }

            var pairs = Paired(c, rounds);
            var swscale = new Baseline("libswscale, interleaved", pairs.Swscale.BaselineNs, "ns");
            var note = $"median of {pairs.Swscale.Rounds} interleaved swscale/ours pairs (ours median {pairs.Swscale.CandidateNs:F0} ns)";
            if (!c.Benchmarked)
            {
                note += $"; max |ours - swscale| = {ConversionBenchmarks.MaxDifference.GetValueOrDefault(c.Key, -1)}";
            }

            metrics.Add(new($"convert.{c.Key}.speedup_vs_swscale_paired", 1 / pairs.Swscale.Ratio, "x", c.Target, swscale, note));
            metrics.Add(new($"convert.{c.Key}.spectrum_paired_median_ns", pairs.Swscale.CandidateNs, "ns", null, swscale, "median conversion time in the interleaved pairs"));
            var copy = new Baseline("plain copy of the destination's bytes, interleaved", pairs.OursVersusCopy.BaselineNs, "ns");
            metrics.Add(new($"convert.{c.Key}.spectrum_ratio_vs_copy_floor_paired", pairs.OursVersusCopy.Ratio, "x", null, copy,
                $"median of {pairs.OursVersusCopy.Rounds} interleaved copy/ours pairs"));
            metrics.Add(new($"convert.{c.Key}.swscale_ratio_vs_copy_floor_paired", pairs.SwscaleVersusCopy.Ratio, "x", null,
                new Baseline("plain copy of the destination's bytes, interleaved", pairs.SwscaleVersusCopy.BaselineNs, "ns"),
                $"median of {pairs.SwscaleVersusCopy.Rounds} interleaved copy/swscale pairs"));
            if (withoutAvx512?.GetValueOrDefault(c.Key) is { } avx2)
            {
                metrics.Add(new($"convert.{c.Key}.speedup_vs_swscale_paired_without_avx512", avx2.Speedup, "x", null,
                    new Baseline("libswscale, interleaved, same child process", avx2.SwscaleNs, "ns"),
                    $"diagnosis: the same pairs in a child process with DOTNET_EnableAVX512=0, as an AVX2-only machine runs them (ours median {avx2.OursNs:F0} ns)"));
            }
        }
    }

    /// <summary>The child process's work: every case's paired speed-up over swscale, one tab-separated line each.</summary>
    public static int PrintPaired(bool quick)
    {
        foreach (var c in ConversionCase.All)
        {
            var r = Paired(c, quick ? 40 : 300).Swscale;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{c.Key}\t{1 / r.Ratio}\t{r.BaselineNs}\t{r.CandidateNs}"));
        }

        return 0;
    }

    /// <summary>Ours against swscale, ours against a plain copy, swscale against a plain copy: each interleaved.</summary>
    private static (PairedRatio.Result Swscale, PairedRatio.Result OursVersusCopy, PairedRatio.Result SwscaleVersusCopy) Paired(ConversionCase c, int rounds)
    {
        var b = new ConversionBenchmarks { Case = c };
        b.SetUp();
        try
        {
            WarmUp(() => b.Spectrum(), () => b.Libswscale(), b.CopyFloor);
            return (PairedRatio.Measure(() => b.Libswscale(), () => b.Spectrum(), rounds),
                PairedRatio.Measure(b.CopyFloor, () => b.Spectrum(), rounds),
                PairedRatio.Measure(b.CopyFloor, () => b.Libswscale(), rounds));
        }
        finally
        {
            b.CleanUp();
        }
    }

    // Past tiered compilation's thresholds (30 calls, then a background compile, and on-stack replacement for the
    // loops), so that no pair times tier-0 code: the paired-only cases and the child process have not been warmed up
    // by BenchmarkDotNet.
    private static void WarmUp(params Action[] operations)
    {
        for (var round = 0; round < 2; round++)
        {
            foreach (var operation in operations)
            {
                for (var i = 0; i < 40; i++)
                {
                    operation();
                }
            }

            Thread.Sleep(200);
        }
    }

    private static Dictionary<string, (double Speedup, double SwscaleNs, double OursNs)> PairedInChild(bool quick)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(typeof(ConversionSuite).Assembly.Location);
        start.ArgumentList.Add(PairedOnlyOption);
        if (quick)
        {
            start.ArgumentList.Add("--quick");
        }

        start.Environment["DOTNET_EnableAVX512"] = "0";
        using var child = Process.Start(start) ?? throw new InvalidOperationException("the paired-conversions child did not start");
        var lines = child.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        child.WaitForExit();
        if (child.ExitCode != 0)
        {
            throw new InvalidOperationException($"the paired-conversions child (DOTNET_EnableAVX512=0) exited {child.ExitCode}");
        }

        return lines.Select(l => l.Split('\t')).Where(f => f.Length == 4).ToDictionary(
            f => f[0],
            f => (double.Parse(f[1], CultureInfo.InvariantCulture), double.Parse(f[2], CultureInfo.InvariantCulture), double.Parse(f[3], CultureInfo.InvariantCulture)));
    }
}
