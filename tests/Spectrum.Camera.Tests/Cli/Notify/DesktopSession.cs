using System.Diagnostics;
using System.Text;

namespace Spectrum.Camera.Tests.Cli.Notify;

/// <summary>
/// A headless desktop session for the notify tests, all real Debian programs: an X server (Xvfb), a session bus
/// (dbus-daemon) and a notification server (dunst, bookworm-backports 1.11) on both. dunst's context menu hands the
/// actions of its notifications to the program its config names as dmenu; here that is a script that saves the menu
/// it was shown and picks the first line containing <see cref="Choose"/>'s text, so <see cref="InvokeAction"/>
/// ('dunstctl context') clicks a chosen action. tools/install-deps.sh installs xvfb, dbus and dunst.
/// </summary>
internal sealed class DesktopSession : IDisposable
{
    private readonly List<Process> _processes = [];
    private readonly bool _ready;

    public DesktopSession()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("spectrum-desktop-").FullName;
        File.WriteAllText(ScriptPath, $"""
            #!/bin/sh
            cat > '{MenuPath}.part'
            grep -F -m 1 -- "$(cat '{ChoicePath}')" '{MenuPath}.part'
            mv '{MenuPath}.part' '{MenuPath}'
            """);
        File.SetUnixFileMode(ScriptPath, (UnixFileMode)0x1ED); // 0755
        File.WriteAllText(ConfigPath, $"""
            [global]
                dmenu = {ScriptPath}
            """);

        var xvfb = Start("Xvfb", readFirstLine: true, "-nolisten", "tcp", "-displayfd", "1", "-screen", "0", "800x600x24");
        Display = ":" + ReadLine(xvfb, "Xvfb's display number");
        var bus = Start("dbus-daemon", readFirstLine: true, "--session", "--nofork", "--print-address=1",
            $"--address=unix:path={Path.Combine(Directory, "bus")}");
        BusAddress = ReadLine(bus, "dbus-daemon's address");
        _ready = true;
        Start("dunst", readFirstLine: false, "-config", ConfigPath);
        var clock = Stopwatch.StartNew();
        while (Run("dunstctl", "is-paused").Code != 0)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException("dunst did not come up on the session bus within 30 s");
            }

            Thread.Sleep(50);
        }
    }

    public string Directory { get; }

    /// <summary>DISPLAY of the X server.</summary>
    public string Display { get; }

    /// <summary>DBUS_SESSION_BUS_ADDRESS of the session bus.</summary>
    public string BusAddress { get; }

    /// <summary>The menu dunst showed the last time its context menu was opened.</summary>
    public string LastMenu => File.Exists(MenuPath) ? File.ReadAllText(MenuPath) : "";

    private string ScriptPath => Path.Combine(Directory, "pick-action.sh");

    private string ConfigPath => Path.Combine(Directory, "dunstrc");

    private string MenuPath => Path.Combine(Directory, "menu.txt");

    private string ChoicePath => Path.Combine(Directory, "choice.txt");

    /// <summary>The environment of a program of this session.</summary>
    public void Apply(ProcessStartInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        info.Environment["DISPLAY"] = Display;
        info.Environment["DBUS_SESSION_BUS_ADDRESS"] = BusAddress;
    }

    /// <summary>
    /// Opens dunst's context menu and picks the first action whose menu line contains <paramref name="text"/>;
    /// returns once the menu program ran (dunst invokes the action it printed right after).
    /// </summary>
    public void InvokeAction(string text)
    {
        File.Delete(MenuPath);
        File.WriteAllText(ChoicePath, text);
        var (code, output) = Run("dunstctl", "context");
        Assert.That(code, Is.Zero, $"dunstctl context: {output}");
        var clock = Stopwatch.StartNew();
        while (!File.Exists(MenuPath))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new TimeoutException("dunst did not run its menu program within 10 s (no notification with actions shown?)");
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>How many notifications dunst shows now.</summary>
    public int Displayed => int.Parse(Run("dunstctl", "count", "displayed").Output.Trim(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Closes every notification shown (they move to dunst's history).</summary>
    public void CloseAll() => Assert.That(Run("dunstctl", "close-all").Code, Is.Zero);

    /// <summary>dunst's history (closed notifications) as JSON.</summary>
    public string History() => Run("dunstctl", "history").Output;

    public (int Code, string Output) Run(string program, params string[] args)
    {
        var info = Info(program, args);
        using var p = Process.Start(info)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output);
    }

    public void Dispose()
    {
        for (var i = _processes.Count - 1; i >= 0; i--)
        {
            if (!_processes[i].HasExited)
            {
                _processes[i].Kill();
                _processes[i].WaitForExit();
            }

            _processes[i].Dispose();
        }

        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private ProcessStartInfo Info(string program, string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        if (_ready)
        {
            Apply(info);
        }

        return info;
    }

    private Process Start(string program, bool readFirstLine, params string[] args)
    {
        var info = Info(program, args);
        info.RedirectStandardError = false;
        info.RedirectStandardOutput = readFirstLine;
        var p = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {program} (tools/install-deps.sh installs it)");
        _processes.Add(p);
        return p;
    }

    private static string ReadLine(Process p, string what)
    {
        var read = p.StandardOutput.ReadLineAsync();
        if (!read.Wait(TimeSpan.FromSeconds(30)) || string.IsNullOrWhiteSpace(read.Result))
        {
            throw new TimeoutException($"no {what} within 30 s");
        }

        return read.Result.Trim();
    }
}
