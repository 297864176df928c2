using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;
using static Spectrum.Camera.Uapi.V4l2IoctlNumber;

namespace Spectrum.Camera.Tests.Media;

/// <summary>Sessions: many at once (v4l2-compliance opens 100), a hard limit of 256, and CLOSE releasing what it owned.</summary>
public sealed class SessionTests : MediaTestBase
{
    [Test]
    public void A_hundred_and_twenty_sessions_are_served_at_once()
    {
        var sessions = Enumerable.Range(0, 120).Select(_ => H.OpenSession()).ToArray();
        Assert.That(sessions, Is.Unique);
        Assert.That(H.SessionCount(), Is.EqualTo(120));

        foreach (var session in sessions)
        {
            AssertFormat(H.IoctlOk(session, GFmt, Format(0, 0, 0), FormatSize), Yuyv, 640, 480);
            Assert.That(U32(H.IoctlOk(session, EnumFmt, FmtDesc(2), FmtDescSize), 44), Is.EqualTo(Yu12));
        }

        foreach (var session in sessions)
        {
            Assert.That(H.Close(session), Is.Zero);
        }

        Assert.That(H.SessionCount(), Is.Zero);
    }

    [Test]
    public void Open_beyond_256_sessions_is_EBUSY_until_one_closes()
    {
        var sessions = Enumerable.Range(0, 256).Select(_ => H.OpenSession()).ToList();
        Assert.That(sessions, Is.Unique);

        var refused = H.Send(MediaRequests.Open(), 16);
        Assert.That(refused, Has.Length.EqualTo(8), "the header alone");
        Assert.That(U32(refused, 0), Is.EqualTo(EBUSY));
        Assert.That(U32(refused, 4), Is.Zero);
        Assert.That(H.Open().Status, Is.EqualTo(EBUSY), "still full");
        Assert.That(H.SessionCount(), Is.EqualTo(256));

        H.Close(sessions[100]);
        var (status, replacement) = H.Open();
        Assert.That(status, Is.Zero);
        Assert.That(sessions, Does.Not.Contain(replacement), "ids of open sessions are never reused");
        Assert.That(H.Open().Status, Is.EqualTo(EBUSY));
        AssertFormat(H.IoctlOk(replacement, GFmt, Format(0, 0, 0), FormatSize), Yuyv, 640, 480);
        Assert.That(H.Ioctl(sessions[100], GFmt, Format(0, 0, 0), FormatSize).Status, Is.EqualTo(EINVAL), "the closed id is gone");
    }

    [Test]
    public void Closing_the_owner_stops_its_stream_and_frees_its_buffers_for_another_session()
    {
        var owner = new CaptureClient(H);
        owner.Allocate(4);
        owner.QueueAll();
        Assert.That(owner.StreamOn(), Is.Zero);
        var other = new CaptureClient(H);
        Assert.That(H.Ioctl(other.Session, ReqBufs, RequestBuffers(2), RequestBuffersSize).Status, Is.EqualTo(EBUSY));

        Assert.That(H.Close(owner.Session), Is.Zero);
        // Frames completed before the CLOSE may already sit in the eventq; the guest driver drops them (unknown session).
        var late = H.DrainEvents(TimeSpan.FromMilliseconds(100));
        Assert.That(late.Select(e => U32(e, 4)), Is.All.EqualTo(owner.Session));

        Assert.That(H.OnLoop(d => d.IsStreaming), Is.False, "the stream stopped with its owner");
        Assert.That(H.Ioctl(owner.Session, GFmt, Format(0, 0, 0), FormatSize).Status, Is.EqualTo(EINVAL), "closed id");
        Assert.That(H.Ioctl(other.Session, QueryBuf, Buffer(0, 0, 0), BufferSize).Status, Is.EqualTo(EINVAL), "no buffers left");
        other.SetFormat(Nv12, 320, 240);
        other.Allocate(2);
        other.QueueAll();
        Assert.That(other.StreamOn(), Is.Zero);
        var (_, _, sequence, _, _) = other.NextFrame();
        Assert.That(sequence, Is.Zero, "a new stream starts at sequence 0");
    }

    [Test]
    public void Closing_another_session_does_not_disturb_the_owner_s_stream()
    {
        var owner = new CaptureClient(H);
        owner.Allocate(4);
        owner.QueueAll();
        Assert.That(owner.StreamOn(), Is.Zero);
        var bystander = H.OpenSession();
        var first = owner.NextFrame();

        Assert.That(H.Close(bystander), Is.Zero);

        owner.Queue(first.Index);
        var next = owner.NextFrame();
        Assert.That(next.Sequence, Is.GreaterThan(first.Sequence));
        Assert.That(H.OnLoop(d => d.IsStreaming), Is.True);
    }
}
