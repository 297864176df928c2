namespace Spectrum.Camera.Fuzz.Targets;

/// <summary>
/// One fuzz target: turns arbitrary bytes into guest/VMM input for a real parser and runs it in-process. The parsers
/// answer bad input with NACKs, errnos, stopped queues or a closed connection; any exception that escapes
/// <see cref="Run"/> (including a broken invariant the target checks) is a finding.
/// </summary>
public interface IFuzzTarget
{
    string Name { get; }

    void Run(ReadOnlySpan<byte> input);

    /// <summary>Small valid inputs: written to tests/fuzz/corpus/NAME/ by 'seeds', and run once to warm the JIT.</summary>
    IEnumerable<(string Name, byte[] Data)> Seeds();

    IEnumerable<byte[]> WarmUpInputs() => Seeds().Select(s => s.Data);
}

/// <summary>A target's own invariant check failed: a parser accepted something it must not have, or wrote where it must not.</summary>
public sealed class InvariantViolationException(string message) : Exception(message);
