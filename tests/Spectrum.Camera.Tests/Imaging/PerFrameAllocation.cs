namespace Spectrum.Camera.Tests.Imaging;

/// <summary>The converters' steady-state promise, checked: a frame allocates nothing once the stream is running.</summary>
internal static class PerFrameAllocation
{
    /// <summary>
    /// Warms up past tiered JIT's call-count threshold (lazy buffers, static tables, tier promotion), then requires
    /// zero bytes allocated on this thread over many calls of <paramref name="frame"/> (which must not assert:
    /// NUnit's own allocations would count).
    /// </summary>
    public static void AssertNone(Action frame)
    {
        for (var i = 0; i < 100; i++)
        {
            frame();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 20; i++)
        {
            frame();
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
