using Spectrum.Camera.Sources;

namespace Spectrum.Camera.Tests.Frames;

public class MemoryFrameSinkTests
{
    [Test]
    public void Writes_append_and_reset_starts_over()
    {
        var sink = new MemoryFrameSink(4);
        sink.Write([1, 2]);
        sink.Write([3]);
        Assert.That(sink.WrittenMemory.ToArray(), Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(sink.WriteCount, Is.EqualTo(2));

        sink.Reset();
        sink.Write([9, 8, 7, 6]);
        Assert.That(sink.WrittenMemory.ToArray(), Is.EqualTo(new byte[] { 9, 8, 7, 6 }));
        Assert.That(sink.WriteCount, Is.EqualTo(1));
    }

    [Test]
    public void A_write_past_the_end_throws_and_writes_nothing()
    {
        var buffer = new byte[4];
        var sink = new MemoryFrameSink(buffer);
        sink.Write([1, 2, 3]);

        Assert.That(() => sink.Write([4, 5]), Throws.InvalidOperationException.With.Message.Contains("overflows"));
        Assert.That(sink.Written, Is.EqualTo(3));
        Assert.That(buffer[3], Is.Zero);
    }
}
