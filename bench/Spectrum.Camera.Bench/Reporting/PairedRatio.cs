using System.Diagnostics;

namespace Spectrum.Camera.Bench.Reporting;

/// <summary>
/// A ratio measured the noise-resistant way, next to BenchmarkDotNet's: the baseline and the candidate run
/// alternately, one short block of operations each per round (the order flipping every round), and the result is the
/// median of the per-round ratios. Load from other processes on the shared machine then hits both sides of each pair alike,
/// where BenchmarkDotNet, which measures one benchmark after the other, can see a quiet baseline and a busy
/// candidate.
/// </summary>
public static class PairedRatio
{
    /// <param name="BaselineNs">Median time of one baseline operation.</param>
    /// <param name="CandidateNs">Median time of one candidate operation (within a block, after its first).</param>
    /// <param name="FirstCandidateNs">Median time of each block's first candidate operation, which is not in the ratio.</param>
    public sealed record Result(int Rounds, double Ratio, double BaselineNs, double CandidateNs, double FirstCandidateNs);

    /// <param name="block">Operations of each side per round. With more than one, the candidate's first operation of
    /// each block is timed apart and left out of the ratio: it pays for waking whatever the baseline block let idle
    /// (a device thread's vCPU, for one), which back-to-back operations do not.</param>
    /// <param name="between">Run after each round, outside the timing (for example re-queuing buffers).</param>
    public static Result Measure(Action baseline, Action candidate, int rounds, int block = 1, Action? between = null)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        ArgumentNullException.ThrowIfNull(candidate);
        for (var i = 0; i < Math.Max(2, rounds / 10); i++)
        {
            Repeat(baseline, block);
            Repeat(candidate, block);
            between?.Invoke();
        }

        var ratios = new double[rounds];
        var baselineTimes = new double[rounds];
        var candidateTimes = new double[rounds];
        var firstTimes = new double[rounds];
        var timed = block > 1 ? block - 1 : 1;
        for (var r = 0; r < rounds; r++)
        {
            if (r % 2 == 0)
            {
                baselineTimes[r] = Time(baseline, block) / block;
                (firstTimes[r], candidateTimes[r]) = TimeCandidate(candidate, block);
            }
            else
            {
                (firstTimes[r], candidateTimes[r]) = TimeCandidate(candidate, block);
                baselineTimes[r] = Time(baseline, block) / block;
            }

            candidateTimes[r] /= timed;
            ratios[r] = candidateTimes[r] / baselineTimes[r];
            between?.Invoke();
        }

        return new Result(rounds, Median(ratios), Median(baselineTimes), Median(candidateTimes), Median(firstTimes));
    }

    private static (double First, double Others) TimeCandidate(Action candidate, int block)
    {
        if (block == 1)
        {
            var once = Time(candidate, 1);
            return (once, once);
        }

        var first = Time(candidate, 1);
        return (first, Time(candidate, block - 1));
    }

    private static void Repeat(Action action, int count)
    {
        for (var i = 0; i < count; i++)
        {
            action();
        }
    }

    private static double Time(Action action, int count)
    {
        var start = Stopwatch.GetTimestamp();
        Repeat(action, count);
        return Stopwatch.GetElapsedTime(start).TotalNanoseconds;
    }

    /// <summary>The median (the upper one of an even count); sorts <paramref name="values"/> in place.</summary>
    public static double Median(double[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        Array.Sort(values);
        return values[values.Length / 2];
    }
}
