using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Sources;
using Tmds.Linux;

namespace Spectrum.Camera.Tests.Service;

/// <summary>
/// A camera VM's ring (<see cref="ProducerFrameRing"/>, the service's side; <see cref="FrameRingWriter.Attach"/>, the
/// producer's): the memfd can never change size under either side's mapping, and the service's copy holds only a
/// whole frame that the slot held before and after the copy.
/// </summary>
[TestFixture]
public sealed class ProducerFrameRingTests
{
    private const int FrameSize = 10_000;

    [Test]
    public void The_producer_can_write_frames_but_neither_resize_the_memfd_nor_seal_it_further()
    {
        using var ring = new ProducerFrameRing(4, FrameSize);
        var seals = MemFd.GetSeals(ring.Fd);
        Assert.That(seals & MemFd.FixedSizeSeals, Is.EqualTo(MemFd.FixedSizeSeals));
        Assert.That(LibC.ftruncate(ring.Fd.Fd, 4096), Is.EqualTo(-1), "no shrinking");
        Assert.That(LibC.ftruncate(ring.Fd.Fd, ring.Layout.TotalSize * 2), Is.EqualTo(-1), "no growing");
        Assert.That(LibC.fcntl(ring.Fd.Fd, LibC.F_ADD_SEALS, LibC.F_SEAL_WRITE), Is.EqualTo(-1), "no new seal");
        using var writer = FrameRingWriter.Attach(ring.Id, ring.Fd, 4, (uint)ring.Layout.SlotSize, FrameSize);
        Assert.That(writer.Id, Is.EqualTo(ring.Id));
    }

    [Test]
    public void A_frame_is_copied_whole_only_while_its_slot_holds_it()
    {
        using var ring = new ProducerFrameRing(2, FrameSize);
        using var writer = FrameRingWriter.Attach(ring.Id, ring.Fd, 2, (uint)ring.Layout.SlotSize, FrameSize);
        var frame = Enumerable.Range(0, FrameSize).Select(i => (byte)i).ToArray();
        var copy = new MemoryFrameSink(FrameSize);
        Assert.That(ring.CopyFrame(0, 0, copy), Is.EqualTo(RingReadResult.Overwritten), "a slot never written holds no frame");

        frame.CopyTo(writer.BeginWrite(out var slot));
        Assert.That(ring.CopyFrame(slot, 1, copy), Is.EqualTo(RingReadResult.Overwritten), "being written");
        writer.EndWrite(1, 0);
        Assert.That(ring.CopyFrame(slot, 2, copy), Is.EqualTo(RingReadResult.Overwritten), "another frame");
        Assert.That(ring.CopyFrame(2, 1, copy), Is.EqualTo(RingReadResult.Overwritten), "no such slot");
        Assert.That(copy.Written, Is.Zero, "nothing was copied for any of those");
        Assert.That(ring.CopyFrame(slot, 1, copy), Is.EqualTo(RingReadResult.Copied));
        Assert.That(copy.WrittenMemory.ToArray(), Is.EqualTo(frame));
    }

    [Test]
    public void A_copy_the_producer_rewrote_meanwhile_is_reported_torn()
    {
        using var ring = new ProducerFrameRing(1, FrameSize);
        using var writer = FrameRingWriter.Attach(ring.Id, ring.Fd, 1, (uint)ring.Layout.SlotSize, FrameSize);
        writer.BeginWrite(out var slot).Fill(1);
        writer.EndWrite(1, 0);
        Assert.That(ring.CopyFrame(slot, 1, new RewritingSink(() => writer.BeginWrite(out _).Fill(2))), Is.EqualTo(RingReadResult.Torn));
    }

    [Test]
    public void The_producer_refuses_a_memfd_that_could_change_size_or_does_not_match_the_ring()
    {
        using var loose = MemFd.CreateSealable("loose", 4 * 16384);
        Assert.That(() => FrameRingWriter.Attach(1, loose, 4, 16384, FrameSize), Throws.TypeOf<ProtocolException>().With.Message.Contain("sealed against resizing"));
        using var ring = new ProducerFrameRing(4, FrameSize);
        Assert.That(() => FrameRingWriter.Attach(ring.Id, ring.Fd, 8, (uint)ring.Layout.SlotSize, FrameSize), Throws.TypeOf<ProtocolException>());
        Assert.That(() => FrameRingWriter.Attach(ring.Id, ring.Fd, 4, (uint)ring.Layout.SlotSize, FrameSize * 2), Throws.TypeOf<ProtocolException>());
        Assert.That(() => FrameRingWriter.Attach(ring.Id, ring.Fd, 4, (uint)ring.Layout.SlotSize, FrameSize).Fd, Throws.InvalidOperationException,
            "an attached ring has no memfd of its own to pass on");
    }

    /// <summary>A sink during whose copy the producer starts rewriting the slot.</summary>
    private sealed class RewritingSink(Action during) : IFrameSink
    {
        public void Write(ReadOnlySpan<byte> bytes) => during();
    }
}
