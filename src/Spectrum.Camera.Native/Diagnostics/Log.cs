using System.Globalization;

namespace Spectrum.Camera.Native.Diagnostics;

/// <summary>
/// Operator-readable log lines on stderr: "2026-11-21T17:00:00.123Z INFO  [vm1] vhost-user: message".
/// Lines caused by guest behaviour go through <see cref="GuestFault"/>, which is rate-limited per kind so a hostile
/// guest cannot flood the host's journal.
/// </summary>
public static class Log
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, (long WindowStart, int Count)> GuestFaultWindows = [];

    /// <summary>Lines at or above this level are written.</summary>
    public static LogLevel MinimumLevel { get; set; } = LogLevel.Info;

    /// <summary>Label of this process's VM, shown on every line.</summary>
    public static string Scope { get; set; } = "-";

    /// <summary>Where lines go; stderr unless a test redirects it.</summary>
    public static TextWriter Output { get; set; } = Console.Error;

    /// <summary>Guest-fault lines allowed per kind per 10 seconds before they are summarised.</summary>
    public const int GuestFaultBurst = 10;

    public static void Debug(string component, string message) => Write(LogLevel.Debug, component, message);

    public static void Info(string component, string message) => Write(LogLevel.Info, component, message);

    public static void Warning(string component, string message) => Write(LogLevel.Warning, component, message);

    public static void Error(string component, string message) => Write(LogLevel.Error, component, message);

    /// <summary>
    /// A warning caused by guest input. The first <see cref="GuestFaultBurst"/> per <paramref name="kind"/> in each
    /// 10-second window are written; the rest are counted and reported when the window rolls over.
    /// </summary>
    public static void GuestFault(string component, string kind, string message)
    {
        var now = Environment.TickCount64;
        int suppressed = 0;
        bool write;
        lock (Gate)
        {
            GuestFaultWindows.TryGetValue(kind, out var window);
            if (now - window.WindowStart > 10_000)
            {
                suppressed = Math.Max(0, window.Count - GuestFaultBurst);
                window = (now, 0);
            }

            window.Count++;
            write = window.Count <= GuestFaultBurst;
            GuestFaultWindows[kind] = window;
        }

        if (suppressed > 0)
        {
            Write(LogLevel.Warning, component, $"guest fault '{kind}': {suppressed} more lines suppressed in the last window");
        }

        if (write)
        {
            Write(LogLevel.Warning, component, "guest fault: " + message);
        }
    }

    /// <summary>Forgets the guest-fault rate-limit windows (tests assert on lines that a previous test's flood would
    /// otherwise suppress).</summary>
    internal static void ResetGuestFaultLimits()
    {
        lock (Gate)
        {
            GuestFaultWindows.Clear();
        }
    }

    private static void Write(LogLevel level, string component, string message)
    {
        if (level < MinimumLevel)
        {
            return;
        }

        var label = level switch
        {
            LogLevel.Debug => "DEBUG",
            LogLevel.Info => "INFO ",
            LogLevel.Warning => "WARN ",
            _ => "ERROR",
        };
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {label} [{Scope}] {component}: {message}");
        lock (Gate)
        {
            Output.WriteLine(line);
        }
    }
}
