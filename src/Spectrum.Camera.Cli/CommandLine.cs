namespace Spectrum.Camera.Cli;

/// <summary>
/// A small "--name value" / "--flag" parser with the errors an operator needs: unknown option, missing value,
/// missing required option. Each command declares its options and prints its own --help.
/// </summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string?> _values = [];
    private readonly Dictionary<string, List<string>> _repeated = [];

    private CommandLine()
    {
    }

    public IReadOnlyList<string> Positional { get; private set; } = [];

    public bool HelpRequested { get; private set; }

    /// <summary>Parses <paramref name="args"/> against options with values and flags; throws <see cref="UsageException"/>.</summary>
    public static CommandLine Parse(IReadOnlyList<string> args, IReadOnlyCollection<string> valueOptions, IReadOnlyCollection<string> flags)
    {
        var result = new CommandLine();
        var positional = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a is "--help" or "-h")
            {
                result.HelpRequested = true;
                continue;
            }

            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                positional.Add(a);
                continue;
            }

            var name = a;
            string? inlineValue = null;
            var eq = a.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                name = a[..eq];
                inlineValue = a[(eq + 1)..];
            }

            if (flags.Contains(name))
            {
                result._values[name] = null;
            }
            else if (valueOptions.Contains(name))
            {
                var value = inlineValue ?? (i + 1 < args.Count ? args[++i] : throw new UsageException($"option {name} needs a value"));
                result._values[name] = value;
                if (!result._repeated.TryGetValue(name, out var all))
                {
                    result._repeated[name] = all = [];
                }

                all.Add(value);
            }
            else
            {
                throw new UsageException($"unknown option {name}");
            }
        }

        result.Positional = positional;
        return result;
    }

    public bool Has(string name) => _values.ContainsKey(name);

    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v : null;

    /// <summary>Every value given for a repeatable option, in order (Get returns the last).</summary>
    public IReadOnlyList<string> GetAll(string name) => _repeated.TryGetValue(name, out var all) ? all : [];

    /// <summary>Parses a --log-level value.</summary>
    public static Native.Diagnostics.LogLevel ParseLogLevel(string value) => value switch
    {
        "debug" => Native.Diagnostics.LogLevel.Debug,
        "info" => Native.Diagnostics.LogLevel.Info,
        "warning" => Native.Diagnostics.LogLevel.Warning,
        "error" => Native.Diagnostics.LogLevel.Error,
        _ => throw new UsageException($"--log-level must be debug, info, warning or error, not '{value}'"),
    };

    public string Require(string name) => Get(name) ?? throw new UsageException($"option {name} is required");
}

/// <summary>Bad command-line usage: printed with a hint to --help, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);
