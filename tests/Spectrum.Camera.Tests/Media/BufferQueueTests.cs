using Spectrum.Camera.Media.Device;

namespace Spectrum.Camera.Tests.Media;

/// <summary>The capture queue's buffer-eligibility rule (pure state, no device).</summary>
[TestFixture]
public sealed class BufferQueueTests
{
    [Test]
    public void Buffers_queued_before_streamon_are_used_by_the_first_frame()
    {
        var q = new BufferQueue();
        q.Reallocate(1, 2, 4096);
        Assert.That(q.TryGetBuffer(0, out var b), Is.True);
        q.Enqueue(b);
        q.StartPeriods();
        q.FramePeriod = 1;
        Assert.That(q.TryDequeueForFrame(out var used), Is.True);
        Assert.That(used.Index, Is.Zero);
    }

    [Test]
    public void A_buffer_queued_while_streaming_waits_one_whole_period_before_it_is_filled()
    {
        var q = new BufferQueue();
        q.Reallocate(1, 2, 4096);
        q.StartPeriods();
        q.FramePeriod = 5;
        Assert.That(q.TryGetBuffer(1, out var b), Is.True);
        q.Enqueue(b);

        q.FramePeriod = 6;
        Assert.That(q.TryDequeueForFrame(out _), Is.False, "the tick right after QBUF must not complete it");
        q.FramePeriod = 7;
        Assert.That(q.TryDequeueForFrame(out var used), Is.True);
        Assert.That(used.Index, Is.EqualTo(1u));
        Assert.That(q.QueuedCount, Is.Zero);
    }
}
