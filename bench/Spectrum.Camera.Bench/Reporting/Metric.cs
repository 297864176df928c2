using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Spectrum.Camera.Bench.Reporting;

/// <summary>What a metric is compared with: the measurement taken in the same run that it is a ratio to, or that it is next to.</summary>
public sealed record Baseline(string What, double Value, string Unit);

/// <summary>
/// One line item of artifacts/bench/summary.json. <see cref="Target"/> is the target as text ("<= 1.3", the bound
/// docs/performance.md states for the figure), or null where there is none; <see cref="Met"/> is null then too.
/// </summary>
public sealed record Metric(string Name, double Value, string Unit, string? Target, Baseline? Baseline, string? Note = null)
{
    public bool? Met => Target is null ? null : Target.StartsWith("<=", StringComparison.Ordinal)
        ? Value <= Bound
        : Value >= Bound;

    private double Bound => double.Parse(Target![2..], CultureInfo.InvariantCulture);
}

/// <summary>Writes summary.json (one metric per line) and the table printed at the end of a run.</summary>
public static class SummaryWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // "+deb12u1", "|d|" as written
    };

    public static void Write(string path, IReadOnlyDictionary<string, string> machine, string command, bool quick, IReadOnlyList<Metric> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var text = new StringBuilder();
        text.Append("{\n  \"command\": ").Append(JsonSerializer.Serialize(command, Json)).Append(",\n");
        text.Append("  \"quick\": ").Append(quick ? "true" : "false").Append(",\n");
        text.Append("  \"machine\": ").Append(JsonSerializer.Serialize(machine, Json)).Append(",\n");
        text.Append("  \"metrics\": [\n");
        for (var i = 0; i < metrics.Count; i++)
        {
            var m = metrics[i];
            var line = new
            {
                m.Name,
                Value = Math.Round(m.Value, 4),
                m.Unit,
                m.Target,
                Baseline = m.Baseline is null ? null : new { m.Baseline.What, Value = Math.Round(m.Baseline.Value, 4), m.Baseline.Unit },
                m.Met,
                m.Note,
            };
            text.Append("    ").Append(JsonSerializer.Serialize(line, Json)).Append(i + 1 < metrics.Count ? ",\n" : "\n");
        }

        text.Append("  ]\n}\n");
        File.WriteAllText(path, text.ToString());
    }

    public static string Table(IReadOnlyList<Metric> metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        var rows = metrics.Select(m => new[]
        {
            m.Name,
            Format(m.Value),
            m.Unit,
            m.Target ?? "",
            m.Baseline is null ? "" : $"{m.Baseline.What}: {Format(m.Baseline.Value)} {m.Baseline.Unit}",
            m.Met switch { true => "met", false => "MISSED", null => "" },
        }).ToList();
        string[] header = ["metric", "value", "unit", "target", "baseline (same run)", ""];
        var widths = header.Select((h, c) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[c].Length))).ToArray();
        var text = new StringBuilder();
        void Row(string[] cells) => text.AppendLine(string.Join("  ", cells.Select((cell, c) => c is 1 ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]))).TrimEnd());
        Row(header);
        Row(widths.Select(w => new string('-', w)).ToArray());
        rows.ForEach(Row);
        return text.ToString();
    }

    private static string Format(double value) => Math.Abs(value) switch
    {
        >= 1000 => value.ToString("N0", CultureInfo.InvariantCulture),
        >= 10 => value.ToString("F1", CultureInfo.InvariantCulture),
        _ => value.ToString("F3", CultureInfo.InvariantCulture),
    };
}
