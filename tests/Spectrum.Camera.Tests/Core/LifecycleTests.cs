using Spectrum.Camera.Native;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.VhostUser;

namespace Spectrum.Camera.Tests.Core;

/// <summary>Resources the front-end swaps while rings run (memory table, call and kick fds) and the end of a connection.</summary>
[TestFixture]
[NonParallelizable]
public sealed class LifecycleTests : CoreFixture
{
    [Test]
    public void Memory_table_sent_again_while_rings_run_keeps_them_serving()
    {
        using var s = new CoreSession();
        s.AssertEchoWorks();
        s.PostEventBuffer();
        s.EventQueue.Notify();
        Assert.That(SpinWait.SpinUntil(() => s.HeldEvents() == 1, TestWait.Bound), Is.True);

        Assert.That(s.Client.SendMemTable(s.Ram), Is.Zero, "memory hot-plug style SET_MEM_TABLE while running");

        s.AssertEchoWorks();
        Assert.That(s.SendEvent([7]), Is.True, "a chain held across the map swap completes in the new map");
        Assert.That(s.EventQueue.WaitUsed(TestWait.Bound).Length, Is.EqualTo(1u));
        s.AssertBackendIntact();
    }

    [Test]
    public void Memory_table_that_no_longer_holds_the_rings_stops_them_without_a_crash()
    {
        using var s = new CoreSession();
        var lowOnly = Wire.MemTable((0, GuestRam.HoleStart, s.Ram.UserAddressOf(0), 0));

        Assert.That(s.Client.Send(VhostUserClient.SetMemTable, lowOnly, [s.Ram.Fd.Fd]), Is.Zero);
        s.Harness.Sync();

        Assert.Multiple(() =>
        {
            Assert.That(s.Log.Text, Does.Contain("queue 0 stopped: after a memory table change"));
            Assert.That(s.Harness.OnLoop(() => s.Harness.Device.Queue(0)?.IsBroken), Is.True);
            Assert.That(s.EchoQueue.Err.Consume(), Is.Not.Zero, "err eventfd signalled");
        });
        s.AssertConfigAnswers();
        s.RestartDriver();
        s.AssertEchoWorks();
        s.AssertEventQueueWorks();
        s.AssertBackendIntact();
    }

    [Test]
    public void Call_fd_replaced_while_running_receives_the_next_interrupt_and_the_old_one_none()
    {
        using var s = new CoreSession();
        var q = s.EchoQueue;
        using var newCall = EventFd.Create();
        Assert.That(s.Client.SendU64(VhostUserClient.SetVringCall, 0, [newCall.Fd]), Is.Zero);
        q.Call.Consume();

        q.SetUsedEvent(0);
        s.PostEcho([1, 2], 2);
        q.Notify();
        Assert.That(SpinWait.SpinUntil(() => q.UsedIndex == 1, TestWait.Bound), Is.True);
        s.Harness.Sync();

        Assert.Multiple(() =>
        {
            Assert.That(newCall.Consume(), Is.Not.Zero, "the newest call fd is signalled");
            Assert.That(q.Call.Consume(), Is.Zero, "the replaced one is not");
        });
        s.AssertBackendIntact();
    }

    [Test]
    public void Kick_fd_replaced_while_running_is_the_one_watched()
    {
        using var s = new CoreSession();
        var q = s.EchoQueue;
        var oldKick = q.Kick;
        using var oldKickCopy = new EventFd(oldKick.Handle.Duplicate());
        var newKick = q.RenewKick(); // closes our copy of the old fd; the backend closes its own on replacement
        Assert.That(s.Client.SendU64(VhostUserClient.SetVringKick, 0, [newKick.Fd]), Is.Zero);
        s.Harness.Sync();
        newKick.Consume();

        s.PostEcho([3], 1);
        oldKickCopy.Signal();
        s.Harness.Sync();
        var usedAfterOldKick = q.UsedIndex;
        newKick.Signal();

        Assert.Multiple(() =>
        {
            Assert.That(usedAfterOldKick, Is.Zero, "a kick on the replaced fd is not seen");
            Assert.That(SpinWait.SpinUntil(() => q.UsedIndex == 1, TestWait.Bound), Is.True, "the new kick fd is watched");
        });
        s.AssertBackendIntact();
    }

    [Test]
    public void Front_end_closing_the_connection_stops_the_rings_and_ends_cleanly()
    {
        using var s = new CoreSession();
        s.AssertEchoWorks();

        s.Client.Socket.Shutdown();

        Assert.That(s.Harness.WaitForDisconnect(), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(s.Harness.Disconnect, Is.EqualTo(VhostUserBackend.DisconnectReason.EndOfStream));
            Assert.That(s.Log.Text, Does.Contain("front-end closed the connection"));
            Assert.That(s.Harness.OnLoop(() => s.Harness.Device.StopCount.Sum()), Is.EqualTo(2), "both rings stopped");
            Assert.That(s.Harness.LoopException, Is.Null);
            Assert.That(s.Canary.FirstDamage(), Is.Null);
        });
    }
}
