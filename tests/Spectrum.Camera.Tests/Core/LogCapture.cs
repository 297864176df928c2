using System.Text;
using Spectrum.Camera.Native.Diagnostics;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// Redirects the process-wide <see cref="Log"/> into memory for one test and restores it on dispose. Log is static, so
/// fixtures using this are [NonParallelizable]. The guest-fault rate limit is reset so that a previous test's flood
/// cannot suppress the line a test asserts on.
/// </summary>
internal sealed class LogCapture : IDisposable
{
    private readonly TextWriter _previousOutput;
    private readonly LogLevel _previousLevel;
    private readonly CapturingWriter _writer = new();

    public LogCapture(LogLevel level = LogLevel.Info)
    {
        _previousOutput = Log.Output;
        _previousLevel = Log.MinimumLevel;
        Log.ResetGuestFaultLimits();
        Log.MinimumLevel = level;
        Log.Output = _writer;
    }

    /// <summary>Everything logged so far.</summary>
    public string Text => _writer.Snapshot();

    public bool Contains(string fragment) => Text.Contains(fragment, StringComparison.Ordinal);

    /// <summary>Waits (bounded, only so a broken backend cannot hang the run) until a line contains the fragment.</summary>
    public bool WaitFor(string fragment, TimeSpan? timeout = null) =>
        SpinWait.SpinUntil(() => Contains(fragment), timeout ?? TestWait.Bound);

    /// <summary>Starts a fresh window: later assertions see only what is logged from now on.</summary>
    public void Clear() => _writer.Clear();

    public void Dispose()
    {
        Log.Output = _previousOutput;
        Log.MinimumLevel = _previousLevel;
        Log.ResetGuestFaultLimits();
    }

    private sealed class CapturingWriter : TextWriter
    {
        private readonly Lock _gate = new();
        private readonly StringBuilder _text = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_gate)
            {
                _text.Append(value);
            }
        }

        public override void Write(string? value)
        {
            lock (_gate)
            {
                _text.Append(value);
            }
        }

        public override void WriteLine(string? value)
        {
            lock (_gate)
            {
                _text.Append(value).Append('\n');
            }
        }

        public string Snapshot()
        {
            lock (_gate)
            {
                return _text.ToString();
            }
        }

        public void Clear()
        {
            lock (_gate)
            {
                _text.Clear();
            }
        }
    }
}

/// <summary>Upper bounds for waits on the backend thread. They only stop a hung test; no test measures time.</summary>
internal static class TestWait
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
}
