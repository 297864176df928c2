using Spectrum.Camera.Native;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// SCM_RIGHTS through <see cref="UnixSocket"/> over a real socketpair: exactly the fds sent arrive, as working
/// duplicates, for odd and even counts up to <see cref="UnixSocket.MaxFdsPerReceive"/>. An odd count is where a
/// control-message length padded to 8 bytes would make the kernel read one fd more from the padding.
/// </summary>
[TestFixture]
public sealed class UnixSocketFdPassingTests
{
    private static readonly int[] Counts = [1, 2, 3, 8, UnixSocket.MaxFdsPerReceive];

    [Test]
    public void Exactly_the_fds_sent_arrive_and_each_is_the_same_eventfd(
        [Values] UnixSocketKind kind, [ValueSource(nameof(Counts))] int count)
    {
        var leaks = FdLeakCheck.Start();
        var (sender, receiver) = UnixSocket.CreatePair(kind);
        var sent = Enumerable.Range(0, count).Select(_ => EventFd.Create()).ToList();
        var received = new List<FdHandle>();
        try
        {
            var data = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
            var fds = sent.Select(e => e.Fd).ToArray();
            if (kind == UnixSocketKind.SeqPacket)
            {
                Assert.That(sender.TrySendPacket(data, fds), Is.True, "sent");
            }
            else
            {
                sender.Send(data, fds);
            }

            var buffer = new byte[64];
            var n = receiver.Receive(buffer, received, nonBlocking: true, out var controlTruncated);
            Assert.Multiple(() =>
            {
                Assert.That(n, Is.EqualTo(data.Length), "bytes");
                Assert.That(buffer.AsSpan(0, n).ToArray(), Is.EqualTo(data), "payload");
                Assert.That(controlTruncated, Is.False, "MSG_CTRUNC");
                Assert.That(received, Has.Count.EqualTo(count), "fds");
            });
            for (var i = 0; i < count; i++)
            {
                Assert.That(received[i].IsEventFd(), Is.True, $"fd {i} is an eventfd");
                using var duplicate = new EventFd(received[i]);
                duplicate.Signal();
                Assert.That(sent[i].Consume(), Is.EqualTo(1UL), $"fd {i} shares the counter of the one sent");
            }
        }
        finally
        {
            received.ForEach(fd => fd.Dispose());
            sent.ForEach(e => e.Dispose());
            sender.Dispose();
            receiver.Dispose();
        }

        leaks.AssertNoLeak();
    }

    [Test]
    public void More_fds_than_one_receive_accepts_are_refused_before_sending()
    {
        var (sender, receiver) = UnixSocket.CreatePair(UnixSocketKind.SeqPacket);
        using (sender)
        using (receiver)
        {
            var fds = Enumerable.Repeat(sender.Fd, UnixSocket.MaxFdsPerReceive + 1).ToArray();
            Assert.Multiple(() =>
            {
                Assert.That(() => sender.TrySendPacket([1], fds), Throws.ArgumentException);
                Assert.That(() => sender.Send([1], fds), Throws.ArgumentException);
            });
        }
    }
}
