using System.Diagnostics;

namespace Spectrum.Camera.Tests.Cli.Ctl;

/// <summary>
/// A program running in a real pseudo-terminal: a tmux session on a tmux server of its own (its own socket name), so
/// the test types keys (send-keys) and reads the screen (capture-pane) as a person at a terminal or over ssh would.
/// tmux comes from Debian (tools/install-deps.sh).
/// </summary>
internal sealed class TmuxTerminal : IDisposable
{
    private readonly string _server = $"spectrum-test-{Environment.ProcessId}-{Guid.NewGuid():N}";

    /// <summary>Starts <paramref name="command"/> (a shell command line) in a 160x40 terminal.</summary>
    public TmuxTerminal(string command)
    {
        Tmux("new-session", "-d", "-s", "main", "-x", "160", "-y", "40", command);
    }

    /// <summary>The visible screen, one string per line.</summary>
    public string Screen => Tmux("capture-pane", "-p", "-t", "main");

    /// <summary>Types <paramref name="keys"/> (tmux key names, or literal text).</summary>
    public void Type(string keys) => Tmux("send-keys", "-t", "main", keys);

    /// <summary>Waits (up to 30 s) until the screen satisfies <paramref name="match"/>, and returns it.</summary>
    public string WaitFor(Func<string, bool> match, string what)
    {
        var clock = Stopwatch.StartNew();
        var screen = "";
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            screen = Screen;
            if (match(screen))
            {
                return screen;
            }

            Thread.Sleep(50);
        }

        throw new TimeoutException($"the terminal never showed {what} within 30 s; the screen:\n{screen}");
    }

    public string WaitFor(string text) => WaitFor(s => s.Contains(text, StringComparison.Ordinal), $"'{text}'");

    /// <summary>Stops the tmux server and with it the program.</summary>
    public void Dispose() => Run("kill-server");

    private string Tmux(params string[] args)
    {
        var (code, output) = Run(args);
        return code == 0 ? output : throw new InvalidOperationException($"tmux {string.Join(' ', args)} failed ({code}): {output}");
    }

    private (int Code, string Output) Run(params string[] args)
    {
        var info = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("-L");
        info.ArgumentList.Add(_server);
        info.ArgumentList.Add("-f");
        info.ArgumentList.Add("/dev/null");
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var p = Process.Start(info) ?? throw new InvalidOperationException("cannot start tmux (apt-get install tmux: tools/install-deps.sh)");
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }
}
