using Spectrum.Camera.Threading;
using Spectrum.Camera.Tests.Core;

namespace Spectrum.Camera.Tests.Service.Feeds;

/// <summary>
/// A real <see cref="EventLoop"/> running on its own thread, as the camera service runs it: the test calls the
/// feeds on it with <see cref="Invoke{T}"/> (every feed member is loop-thread only), and handlers record what they
/// see for the test thread to assert on. An exception escaping a handler is kept and rethrown by
/// <see cref="Dispose"/>, so a broken feed fails the test instead of the test host.
/// </summary>
internal sealed class FeedLoop : IDisposable
{
    private readonly LoopThread _thread = new("feed-test-loop", TestWait.Bound);

    public EventLoop Loop => _thread.Loop;

    /// <summary>Runs <paramref name="work"/> on the loop thread and returns its result (or rethrows its exception).</summary>
    public T Invoke<T>(Func<T> work) => _thread.Invoke(work);

    public void Invoke(Action work) => _thread.Invoke(work);

    /// <summary>Waits (bounded, so a broken feed cannot hang the run) until <paramref name="condition"/> holds.</summary>
    public static void WaitUntil(Func<bool> condition, string what) =>
        Assert.That(SpinWait.SpinUntil(condition, TestWait.Bound), Is.True, $"timed out waiting for {what}");

    public void Dispose()
    {
        var stopped = _thread.Stop();
        _thread.Dispose();
        Assert.That(stopped, Is.True, "the loop thread did not stop");
        if (_thread.Failure is not null)
        {
            throw new AssertionException($"the loop thread failed: {_thread.Failure}");
        }
    }
}
