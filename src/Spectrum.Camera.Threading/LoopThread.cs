namespace Spectrum.Camera.Threading;

/// <summary>
/// An <see cref="EventLoop"/> running on a thread of its own, for code that drives a loop from outside it: tests, the
/// benchmarks and the test tools. <see cref="Invoke{T}"/> runs work on the loop and hands its result (or exception)
/// back to the caller, bounded by a timeout so that a dead or stuck loop fails the caller instead of hanging it.
/// Whatever escapes a loop callback ends the loop; it is kept in <see cref="Failure"/> and reported by the next
/// <see cref="Invoke{T}"/>.
/// </summary>
public sealed class LoopThread : IDisposable
{
    private readonly Thread _thread;
    private bool _disposed;

    public LoopThread(string name, TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        Timeout = timeout;
        _thread = new Thread(Run) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public EventLoop Loop { get; } = new();

    /// <summary>How long <see cref="Invoke{T}"/> and <see cref="Dispose"/> wait for the loop.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>What escaped a loop callback and ended the loop, if anything did.</summary>
    public Exception? Failure { get; private set; }

    /// <summary>
    /// Runs <paramref name="work"/> on the loop thread, after everything posted before it, and returns its result.
    /// Rethrows what <paramref name="work"/> threw; throws <see cref="TimeoutException"/> when the loop does not answer.
    /// </summary>
    public T Invoke<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        using var done = new ManualResetEventSlim();
        T result = default!;
        Exception? thrown = null;
        Loop.Post(() =>
        {
            try
            {
                result = work();
            }
#pragma warning disable CA1031 // Handed to the calling thread: nothing may escape into the loop.
            catch (Exception e)
#pragma warning restore CA1031
            {
                thrown = e;
            }
            finally
            {
                done.Set();
            }
        });
        if (!done.Wait(Timeout))
        {
            throw new TimeoutException($"the loop thread '{_thread.Name}' did not answer within {Timeout.TotalSeconds:0.#} s", Failure);
        }

        return thrown is null ? result : throw new InvalidOperationException("the work run on the loop failed", thrown);
    }

    public void Invoke(Action work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Invoke(() =>
        {
            work();
            return 0;
        });
    }

    /// <summary>Stops the loop and waits for its thread; true when it stopped within <see cref="Timeout"/>.</summary>
    public bool Stop()
    {
        Loop.RequestStop();
        return _thread.Join(Timeout);
    }

    /// <summary>Stops the loop and closes it. The loop's own fds are closed only once its thread has stopped.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (Stop())
        {
            Loop.Dispose();
        }
    }

    private void Run()
    {
        try
        {
            Loop.Run();
        }
#pragma warning disable CA1031 // Kept for the caller: Invoke reports it, Failure shows it.
        catch (Exception e)
#pragma warning restore CA1031
        {
            Failure = e;
        }
    }
}
