using System.Diagnostics;
using System.Text;

namespace Spectrum.Camera.Tests.Cli;

/// <summary>Runs the real spectrum-camera executable (the built assembly under the test's output) as a child process.</summary>
internal sealed class SidecarProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly StringBuilder _stdout = new();

    private SidecarProcess(Process process)
    {
        _process = process;
        _process.ErrorDataReceived += (_, e) => Append(_stderr, e.Data);
        _process.OutputDataReceived += (_, e) => Append(_stdout, e.Data);
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
    }

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public string Stdout
    {
        get
        {
            lock (_stdout)
            {
                return _stdout.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public int Id => _process.Id;

    public static SidecarProcess Start(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "spectrum-camera.dll");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        return new SidecarProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet"));
    }

    /// <summary>Runs to completion and returns the exit code.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(params string[] args)
    {
        using var p = Start(args);
        if (!p.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            throw new TimeoutException("spectrum-camera did not exit");
        }

        return (p.ExitCode, p.Stdout, p.Stderr);
    }

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            return false;
        }

        _process.WaitForExit(); // flush the async readers
        return true;
    }

    /// <summary>Waits until <paramref name="path"/> exists (the sidecar listens).</summary>
    public void WaitForSocket(string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.Exists(path))
        {
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"sidecar did not create {path}: {Stderr}");
            }

            Thread.Sleep(20);
        }
    }

    public void Signal(int signal) => _ = Kill(_process.Id, signal);

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder sb, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (sb)
        {
            sb.AppendLine(line);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);
}
