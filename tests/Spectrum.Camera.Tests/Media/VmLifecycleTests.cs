using Spectrum.Camera.Sources;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;
using static Spectrum.Camera.Uapi.V4l2IoctlNumber;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// What QEMU does to a running device: VM stop/cont (rings stop and restart where they were: sessions and the stream
/// survive, nothing is written meanwhile) and guest reboot (new rings: a new driver instance and a fresh device).
/// </summary>
public sealed class VmLifecycleTests : MediaTestBase
{
    private const byte Fill = 0x5A;

    // Long enough for ten frame periods at 30 fps: a device that kept its timer would write in that time.
    private static readonly TimeSpan TenPeriods = TimeSpan.FromMilliseconds(350);

    [Test]
    public void Stop_and_cont_keep_sessions_and_the_stream_and_nothing_is_written_while_stopped()
    {
        var client = new CaptureClient(H);
        client.SetFormat(Yu12, 640, 480);
        client.Allocate(4);
        client.QueueAll();
        Assert.That(client.StreamOn(), Is.Zero);
        var last = 0u;
        for (var i = 0; i < 3; i++)
        {
            var frame = client.NextFrame();
            last = frame.Sequence;
            client.Queue(frame.Index);
        }

        H.StopVm();

        // Frames completed before the stop may still be in the eventq; the application takes those buffers back.
        var held = H.DrainEvents(TimeSpan.FromMilliseconds(50)).Select(e => (int)U32(e, 8)).ToHashSet();
        var queued = Enumerable.Range(0, 4).Where(i => !held.Contains(i)).ToArray();
        foreach (var i in queued)
        {
            client.Buffers[i].Fill(Fill);
        }

        var delivered = H.Counters().Delivered;
        var eventsUsed = H.Driver.EventQueue.UsedIndex;
        Thread.Sleep(TenPeriods);
        Assert.That(H.Counters().Delivered, Is.EqualTo(delivered), "no frame rendered while stopped");
        Assert.That(H.Driver.EventQueue.UsedIndex, Is.EqualTo(eventsUsed), "no event while stopped");
        foreach (var i in queued)
        {
            Assert.That(client.Buffers[i].Read((int)client.SizeImage).AsSpan().ContainsAnyExcept(Fill), Is.False, $"buffer {i} untouched");
        }

        Assert.That(H.SessionCount(), Is.EqualTo(1));

        H.ContinueVm();

        AssertFormat(H.IoctlOk(client.Session, GFmt, Format(0, 0, 0), FormatSize), Yu12, 640, 480);
        Assert.That(H.OnLoop(d => d.IsStreaming), Is.True);
        foreach (var i in held)
        {
            client.Queue(i);
        }

        for (var i = 0; i < 6; i++)
        {
            var (_, index, sequence, _, frame) = client.NextFrame();
            Assert.That(sequence, Is.GreaterThan(last), "the stream goes on");
            Assert.That(TestPatternVerifier.TryDecode(client.Format, frame, out var number, out var exact), Is.True);
            Assert.That((number, exact), Is.EqualTo((sequence, true)));
            last = sequence;
            client.Queue(index);
        }
    }

    [Test]
    public void Reboot_resets_sessions_buffers_format_and_rate()
    {
        var client = new CaptureClient(H);
        client.SetFormat(Nv12, 1280, 720);
        H.IoctlOk(client.Session, SParm, StreamParm(1, 15), StreamParmSize);
        client.Allocate(3);
        client.QueueAll();
        Assert.That(client.StreamOn(), Is.Zero);
        var first = client.NextFrame();
        client.Queue(first.Index);

        H.Reboot();
        foreach (var b in client.Buffers)
        {
            b.Fill(Fill);
        }

        var delivered = H.Counters().Delivered;
        Thread.Sleep(TenPeriods);
        Assert.That(H.Counters().Delivered, Is.EqualTo(delivered), "the old stream is gone");
        foreach (var b in client.Buffers)
        {
            Assert.That(b.Read((int)client.SizeImage).AsSpan().ContainsAnyExcept(Fill), Is.False, "old buffers are never written");
        }

        Assert.That(H.SessionCount(), Is.Zero);
        Assert.That(H.OnLoop(d => d.IsStreaming), Is.False);
        Assert.That(H.Ioctl(client.Session, GFmt, Format(0, 0, 0), FormatSize).Status, Is.EqualTo(EINVAL), "old session");

        var fresh = new CaptureClient(H);
        AssertFormat(H.IoctlOk(fresh.Session, GFmt, Format(0, 0, 0), FormatSize), Yuyv, 640, 480);
        var parm = H.IoctlOk(fresh.Session, GParm, StreamParm(0, 0), StreamParmSize);
        Assert.That((U32(parm, 12), U32(parm, 16)), Is.EqualTo((1u, 30u)));
        fresh.Allocate(2);
        fresh.QueueAll();
        Assert.That(fresh.StreamOn(), Is.Zero);
        var (_, _, sequence, _, frame) = fresh.NextFrame();
        Assert.That(sequence, Is.Zero);
        Assert.That(TestPatternVerifier.TryDecode(fresh.Format, frame, out var number, out var exact), Is.True);
        Assert.That((number, exact), Is.EqualTo((0u, true)));
    }
}
