using Spectrum.Camera.Tests.Core;
using Spectrum.Camera.VhostUser;

namespace Spectrum.Camera.Tests.Service.Feeds;

/// <summary>
/// A real <see cref="DeviceLoop"/> running on its own thread, as the camera service runs it: the test calls the
/// feeds on it with <see cref="Invoke{T}"/> (every feed member is loop-thread only), and handlers record what they
/// see for the test thread to assert on. An exception escaping a handler is kept and rethrown by
/// <see cref="Dispose"/>, so a broken feed fails the test instead of the test host.
/// </summary>
internal sealed class FeedLoop : IDisposable
{
    private readonly Thread _thread;
    private Exception? _failure;

    public FeedLoop()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "feed-test-loop" };
        _thread.Start();
    }

    public DeviceLoop Loop { get; } = new();

    /// <summary>Runs <paramref name="work"/> on the loop thread and returns its result (or rethrows its exception).</summary>
    public T Invoke<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Loop.Post(() =>
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        });
        return done.Task.WaitAsync(TestWait.Bound).GetAwaiter().GetResult();
    }

    public void Invoke(Action work) => Invoke(() =>
    {
        work();
        return 0;
    });

    /// <summary>Waits (bounded, so a broken feed cannot hang the run) until <paramref name="condition"/> holds.</summary>
    public static void WaitUntil(Func<bool> condition, string what) =>
        Assert.That(SpinWait.SpinUntil(condition, TestWait.Bound), Is.True, $"timed out waiting for {what}");

    public void Dispose()
    {
        Loop.RequestStop();
        var stopped = _thread.Join(TestWait.Bound);
        Loop.Dispose();
        Assert.That(stopped, Is.True, "the loop thread did not stop");
        if (_failure is not null)
        {
            throw new AssertionException($"the loop thread failed: {_failure}");
        }
    }

    private void Run()
    {
        try
        {
            Loop.Run();
        }
        catch (Exception e)
        {
            _failure = e;
        }
    }
}
