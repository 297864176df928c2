using System.Diagnostics;

namespace Spectrum.Camera.Bench.Reporting;

/// <summary>
/// A ratio measured the noise-resistant way, next to BenchmarkDotNet's: the baseline and the candidate run
/// alternately, one operation each per round (the order flipping every round), and the result is the median of the
/// per-round ratios. Load from other processes on the shared machine then hits both sides of each pair alike,
/// where BenchmarkDotNet, which measures one benchmark after the other, can see a quiet baseline and a busy
/// candidate.
/// </summary>
public static class PairedRatio
{
    public sealed record Result(int Rounds, double Ratio, double BaselineNs, double CandidateNs);

    /// <param name="between">Run after each round, outside the timing (for example re-queuing buffers).</param>
    public static Result Measure(Action baseline, Action candidate, int rounds, Action? between = null)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(candidate);
        for (var i = 0; i < Math.Max(10, rounds / 10); i++)
        {
            baseline();
            candidate();
            between?.Invoke();
        }

        var ratios = new double[rounds];
        var baselineTimes = new double[rounds];
        var candidateTimes = new double[rounds];
        for (var r = 0; r < rounds; r++)
        {
            if (r % 2 == 0)
            {
                baselineTimes[r] = Time(baseline);
                candidateTimes[r] = Time(candidate);
            }
            else
            {
                candidateTimes[r] = Time(candidate);
                baselineTimes[r] = Time(baseline);
            }

            ratios[r] = candidateTimes[r] / baselineTimes[r];
            between?.Invoke();
        }

        return new Result(rounds, Median(ratios), Median(baselineTimes), Median(candidateTimes));
    }

    private static double Time(Action action)
    {
        var start = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(start).TotalNanoseconds;
    }

    private static double Median(double[] values)
    {
        Array.Sort(values);
        return values[values.Length / 2];
    }
}
