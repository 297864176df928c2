using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Csv;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Mathematics.OutlierDetection;

namespace Spectrum.Camera.Bench;

/// <summary>
/// How long the suites run (<c>--quick</c> proves they run; the full run is for the figures), and the
/// BenchmarkDotNet configurations built from that. Every job runs in process: the frame benchmarks need the device
/// loop thread of the same process, and it avoids BenchmarkDotNet rebuilding the project per benchmark.
/// </summary>
public static class BenchSettings
{
    /// <summary>Set once by Program before any suite runs (in-process, so [ParamsSource] sees it).</summary>
    public static bool Quick { get; set; }

    /// <summary>Where BenchmarkDotNet writes its logs and result tables.</summary>
    public static string ArtifactsPath { get; set; } = Path.Combine("artifacts", "bench", "bdn");

    /// <summary>
    /// Frame delivery: a fixed number of frames per iteration (the buffers the guest has queued; the iteration setup
    /// queues the delivered ones again outside the measurement).
    /// </summary>
    public static IConfig Frames(int framesPerIteration) => Config(
        Job.Default.WithInvocationCount(framesPerIteration).WithUnrollFactor(1)
            .WithWarmupCount(Quick ? 2 : 6).WithIterationCount(Quick ? 5 : 40));

    /// <summary>Conversions: ordinary throughput jobs.</summary>
    public static IConfig Throughput() => Config(
        Job.Default.WithWarmupCount(Quick ? 2 : 5).WithIterationCount(Quick ? 3 : 20)
            .WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(Quick ? 100 : 250)));

    /// <summary>
    /// Command latency: one round trip per measurement, so the statistics are over single commands (median and p99),
    /// with no outlier removal and no forced GC between them. No MemoryDiagnoser: over a single command it would
    /// charge whatever another thread (tiered JIT) allocated in that instant to the command; the device's
    /// allocations per QBUF are measured by the steady-state probe (frame + QBUF cycles) instead.
    /// </summary>
    public static IConfig Latency() => Config(
        Job.Default.WithInvocationCount(1).WithUnrollFactor(1).WithWarmupCount(Quick ? 20 : 200)
            .WithIterationCount(Quick ? 300 : 3000).WithOutlierMode(OutlierMode.DontRemove).WithGcForce(false), memory: false)
        .AddColumn(StatisticColumn.P95, new PercentileColumn(99));

    private static ManualConfig Config(Job job, bool memory = true)
    {
        var config = ManualConfig.CreateEmpty()
            .AddJob(job.WithToolchain(InProcessEmitToolchain.Instance).WithId(Quick ? "Quick" : "Full"))
            .AddColumnProvider(DefaultColumnProviders.Instance)
            .AddColumn(StatisticColumn.Median)
            // In process, BenchmarkDotNet would measure a Debug build and only warn; refuse instead (no results, exit 1).
            .AddValidator(BenchmarkDotNet.Validators.JitOptimizationsValidator.FailOnError)
            .AddExporter(MarkdownExporter.GitHub, CsvExporter.Default)
            .AddLogger(NullLogger.Instance)
            .WithArtifactsPath(ArtifactsPath)
            .WithOption(ConfigOptions.JoinSummary, false);
        return memory ? config.AddDiagnoser(MemoryDiagnoser.Default) : config;
    }
}

/// <summary>A p-th percentile column (BenchmarkDotNet's built-in ones stop at P95).</summary>
internal sealed class PercentileColumn(int percentile) : IColumn
{
    public string Id => $"P{percentile}";

    public string ColumnName => $"P{percentile}";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Statistics;

    public int PriorityInCategory => 10;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Time;

    public string Legend => $"Percentile {percentile}";

    public string GetValue(BenchmarkDotNet.Reports.Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase) =>
        GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(BenchmarkDotNet.Reports.Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase, BenchmarkDotNet.Reports.SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        return stats is null ? "NA" : (stats.Percentiles.Percentile(percentile) / 1000.0).ToString("N2", System.Globalization.CultureInfo.InvariantCulture) + " μs";
    }

    public bool IsDefault(BenchmarkDotNet.Reports.Summary summary, BenchmarkDotNet.Running.BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(BenchmarkDotNet.Reports.Summary summary) => true;
}
