using Spectrum.Camera.Cli;

namespace Spectrum.Camera.Tests.Cli.Ctl;

/// <summary>What one in-process run of 'spectrum-camera ctl ...' printed and returned.</summary>
internal sealed record CtlRun(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Runs ctl in this process (CtlCommand.Execute, as Program.Main does), with an environment of its own.</summary>
    public static CtlRun Invoke(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = CtlCommand.Execute(args, stdout, stderr, name => environment is not null && environment.TryGetValue(name, out var v) ? v : null);
        return new CtlRun(code, stdout.ToString(), stderr.ToString());
    }

    public static CtlRun Invoke(params string[] args) => Invoke(null, args);

    public string[] StdoutLines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
