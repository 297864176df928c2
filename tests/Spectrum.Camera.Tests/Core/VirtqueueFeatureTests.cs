using System.Buffers.Binary;
using Spectrum.Camera.TestFrontend;

namespace Spectrum.Camera.Tests.Core;

/// <summary>Ring features a Linux guest uses: work posted before SET_VRING_ENABLE, EVENT_IDX and indirect tables.</summary>
[TestFixture]
[NonParallelizable]
public sealed class VirtqueueFeatureTests : CoreFixture
{
    private const ushort Next = GuestVirtqueue.FlagNext;
    private const ushort Write = GuestVirtqueue.FlagWrite;
    private const ushort Indirect = GuestVirtqueue.FlagIndirect;
    private const ulong FeaturesWithoutEventIdx = TestVmm.LinuxGuestFeatures & ~(1UL << 29);

    [Test]
    public void Pre_signalled_kick_and_eventq_buffers_posted_before_enable_are_processed_at_enable()
    {
        using var s = new CoreSession(start: false);
        var requests = new List<(ushort Head, byte[] Data)>();
        var events = new List<ushort>();
        s.StartDriver(newRings: true, beforeEnable: session =>
        {
            // commandq: requests are in the ring and QEMU's kick eventfd is already signalled.
            for (var i = 0; i < 2; i++)
            {
                byte[] data = [(byte)(10 * i), (byte)((10 * i) + 1), (byte)((10 * i) + 2)];
                requests.Add((session.PostEcho(data, 8).Head, data));
            }

            // eventq: the driver posts its buffers and its only kick was consumed before ENABLE (as observed with
            // QEMU), so only the re-scan on enable can find them.
            for (var i = 0; i < 4; i++)
            {
                events.Add(session.PostEventBuffer().Head);
            }

            session.EventQueue.Kick.Consume();
        });

        foreach (var (head, data) in requests)
        {
            Assert.That(s.EchoQueue.WaitUsed(TestWait.Bound), Is.EqualTo((head, (uint)data.Length)));
        }

        Assert.That(SpinWait.SpinUntil(() => s.HeldEvents() == 4, TestWait.Bound), Is.True, "all four eventq buffers taken at enable");
        foreach (var head in events)
        {
            Assert.That(s.SendEvent([0x42]), Is.True);
            Assert.That(s.EventQueue.WaitUsed(TestWait.Bound), Is.EqualTo((head, 1u)));
        }

        s.AssertEventQueueWorks();
        s.AssertBackendIntact();
    }

    [Test]
    public void Event_idx_calls_only_when_used_index_passes_used_event_and_publishes_avail_event()
    {
        using var s = new CoreSession();
        var q = s.EchoQueue;
        q.SetUsedEvent(2); // interrupt me once used->idx moves past 2, i.e. at the third completion
        q.Call.Consume();

        var calls = new List<bool>();
        for (var i = 1; i <= 4; i++)
        {
            s.PostEcho([(byte)i], 4);
            q.Notify();
            Assert.That(SpinWait.SpinUntil(() => q.UsedIndex == i, TestWait.Bound), Is.True);
            s.Harness.Sync(); // the completion and the notify decision run in one loop callback
            calls.Add(q.Call.Consume() != 0);
            Assert.That(q.AvailEvent, Is.EqualTo((ushort)i), "avail_event = the avail index consumed so far");
        }

        Assert.That(calls, Is.EqualTo(ThirdOnly), "calls after each of four completions");
    }

    [Test]
    public void Event_idx_ignores_the_no_interrupt_flag()
    {
        using var s = new CoreSession();
        var q = s.EchoQueue;
        BinaryPrimitives.WriteUInt16LittleEndian(s.Ram.Span(q.AvailGpa, 2), 1);
        q.SetUsedEvent(0);
        q.Call.Consume();

        s.PostEcho([1], 4);
        q.Notify();
        Assert.That(SpinWait.SpinUntil(() => q.UsedIndex == 1, TestWait.Bound), Is.True);
        s.Harness.Sync();

        Assert.That(q.Call.Consume(), Is.Not.Zero, "with EVENT_IDX only used_event counts");
    }

    [Test]
    public void Without_event_idx_the_no_interrupt_flag_suppresses_calls()
    {
        using var s = new CoreSession(guestFeatures: FeaturesWithoutEventIdx);
        var q = s.EchoQueue;
        q.Call.Consume();

        BinaryPrimitives.WriteUInt16LittleEndian(s.Ram.Span(q.AvailGpa, 2), 1); // VRING_AVAIL_F_NO_INTERRUPT
        s.PostEcho([1], 4);
        q.Notify();
        Assert.That(SpinWait.SpinUntil(() => q.UsedIndex == 1, TestWait.Bound), Is.True);
        s.Harness.Sync();
        var suppressed = q.Call.Consume();

        BinaryPrimitives.WriteUInt16LittleEndian(s.Ram.Span(q.AvailGpa, 2), 0);
        s.PostEcho([2], 4);
        q.Notify();
        Assert.That(SpinWait.SpinUntil(() => q.UsedIndex == 2, TestWait.Bound), Is.True);
        s.Harness.Sync();
        var delivered = q.Call.Consume();

        Assert.Multiple(() =>
        {
            Assert.That(suppressed, Is.Zero, "NO_INTERRUPT set: no call");
            Assert.That(delivered, Is.Not.Zero, "NO_INTERRUPT clear: call");
            Assert.That(q.AvailEvent, Is.Zero, "avail_event is not written without EVENT_IDX");
        });
    }

    [Test]
    public void Indirect_table_with_readable_and_writable_entries_is_echoed()
    {
        using var s = new CoreSession();
        var q = s.EchoQueue;
        byte[] part1 = [1, 2, 3, 4, 5];
        byte[] part2 = [6, 7, 8];
        var r1 = s.GuestData(part1);
        var r2 = s.GuestData(part2);
        var w1 = s.Canary.Buffer(4);
        var w2 = s.Canary.Buffer(4);
        var table = Wire.IndirectTable(s, (r1, 5, Next, 1), (r2, 3, Next, 2), (w1, 4, Write | Next, 3), (w2, 4, Write, 0));
        const ushort head = 100;
        q.WriteDescriptor(head, table, 4 * 16, Indirect | Write, 0); // WRITE on the table descriptor is ignored

        q.PublishHead(head);
        q.Notify();

        Assert.That(q.WaitUsed(TestWait.Bound), Is.EqualTo((head, 8u)));
        Assert.Multiple(() =>
        {
            Assert.That(s.Ram.Span(w1, 4).ToArray(), Is.EqualTo(new byte[] { 8, 7, 6, 5 }));
            Assert.That(s.Ram.Span(w2, 4).ToArray(), Is.EqualTo(new byte[] { 4, 3, 2, 1 }));
        });
        s.AssertBackendIntact();
    }

    [Test]
    public void Direct_descriptors_followed_by_an_indirect_table_form_one_chain()
    {
        using var s = new CoreSession();
        var q = s.EchoQueue;
        byte[] request = [9, 8, 7, 6];
        var r = s.GuestData(request);
        var w = s.Canary.Buffer(4);
        var table = Wire.IndirectTable(s, (w, 4, Write, 0));
        q.WriteDescriptor(110, r, 4, Next, 111);
        q.WriteDescriptor(111, table, 16, Indirect, 0);

        q.PublishHead(110);
        q.Notify();

        Assert.That(q.WaitUsed(TestWait.Bound), Is.EqualTo(((ushort)110, 4u)));
        Assert.That(s.Ram.Span(w, 4).ToArray(), Is.EqualTo(new byte[] { 6, 7, 8, 9 }));
        s.AssertBackendIntact();
    }

    [Test]
    public void A_burst_of_60_requests_behind_one_kick_is_drained_and_completed_in_order()
    {
        using var s = new CoreSession();
        var q = s.EchoQueue;
        var posted = new List<ushort>();
        for (var i = 0; i < 60; i++)
        {
            posted.Add(s.PostEcho([(byte)i, (byte)(i + 1)], 2).Head);
        }

        q.Notify();

        var completed = Enumerable.Range(0, 60).Select(_ => q.WaitUsed(TestWait.Bound).Head).ToList();
        Assert.That(completed, Is.EqualTo(posted));
        Assert.That(s.Harness.OnLoop(() => s.Harness.Device.EchoCount), Is.EqualTo(60));
        s.AssertBackendIntact();
    }

    private static readonly bool[] ThirdOnly = [false, false, true, false];
}
