using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Spectrum.Camera.Bench.WholeSystem;

/// <summary>
/// What the producer path's two ends say they did with the camera VM's frames, read the way an operator reads it:
/// the producer sidecar's exit log line (the output device's counters over its whole life) and the camera's
/// description in <c>spectrum-camera ctl cameras --json</c> (the service's drop counters for the camera VM's frames).
/// </summary>
public static partial class ProducerCounters
{
    /// <summary>The output device's counters: frames copied into the service's ring, announced, dropped, failed.</summary>
    public sealed record Device(long Forwarded, long Announced, long Dropped, long Failed);

    /// <summary>The service's drops of the camera VM's frames, by reason, and the producers it refused.</summary>
    public sealed record ServiceDrops(long TooFast, long Stale, long Torn, long OtherRing, long Unwanted, long Refused)
    {
        public long Total => TooFast + Stale + Torn + OtherRing + Unwanted;

        public ServiceDrops Minus(ServiceDrops before)
        {
            ArgumentNullException.ThrowIfNull(before);
            return new(TooFast - before.TooFast, Stale - before.Stale, Torn - before.Torn, OtherRing - before.OtherRing,
                Unwanted - before.Unwanted, Refused - before.Refused);
        }

        public override string ToString() =>
            $"{TooFast} too fast, {Stale} stale, {Torn} torn, {OtherRing} of another ring, {Unwanted} unwanted; {Refused} producers refused";
    }

    /// <summary>The counters of the sidecar's "exiting:" line among its log lines, or null if it logged none.</summary>
    public static Device? FromExitLine(IEnumerable<string> stderr)
    {
        ArgumentNullException.ThrowIfNull(stderr);
        foreach (var line in stderr)
        {
            if (ExitLine().Match(line) is { Success: true } m)
            {
                return new Device(N(m, 1), N(m, 2), N(m, 3), N(m, 4));
            }
        }

        return null;
    }

    /// <summary><c>spectrum-camera ctl cameras --json</c>: the drop counters in camera <paramref name="camera"/>'s description.</summary>
    public static ServiceDrops FromService(string sidecarDll, string operatorSocket, string camera)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { sidecarDll, "ctl", "--operator-socket", operatorSocket, "cameras", "--json" })
        {
            info.ArgumentList.Add(a);
        }

        using var ctl = Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
        var stderr = ctl.StandardError.ReadToEndAsync();
        var json = ctl.StandardOutput.ReadToEnd();
        if (!ctl.WaitForExit(TimeSpan.FromSeconds(60)) || ctl.ExitCode != 0)
        {
            throw new InvalidOperationException($"spectrum-camera ctl cameras --json failed: {stderr.Result.Trim()}");
        }

        using var document = JsonDocument.Parse(json);
        var description = document.RootElement.GetProperty("cameras").EnumerateArray()
            .Where(c => c.GetProperty("name").GetString() == camera)
            .Select(c => c.GetProperty("description").GetString())
            .FirstOrDefault() ?? throw new InvalidOperationException($"ctl cameras lists no camera {camera}");
        return DropLine().Match(description) is { Success: true } m
            ? new ServiceDrops(N(m, 1), N(m, 2), N(m, 3), N(m, 4), N(m, 5), N(m, 6))
            : throw new InvalidOperationException($"camera {camera}'s description has no drop counters: {description}");
    }

    private static long N(Match m, int group) => long.Parse(m.Groups[group].ValueSpan, CultureInfo.InvariantCulture);

    [GeneratedRegex(@"exiting: (\d+) frames forwarded to the camera service \((\d+) announced\), (\d+) dropped \(not wanted or no ring\), (\d+) failed")]
    private static partial Regex ExitLine();

    [GeneratedRegex(@"dropped (\d+) too fast, (\d+) stale, (\d+) torn, (\d+) of another ring, (\d+) unwanted; (\d+) producers refused")]
    private static partial Regex DropLine();
}
