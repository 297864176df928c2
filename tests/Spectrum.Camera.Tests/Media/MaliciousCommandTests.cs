using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;
using static Spectrum.Camera.Uapi.V4l2IoctlNumber;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// A hostile guest: malformed chains, impossible sizes and SG lists that point anywhere. Every
/// command gets an errno (or, with no room for one, nothing), nothing changes, and the device keeps serving.
/// </summary>
public sealed class MaliciousCommandTests : MediaTestBase
{
    private const uint SizeImage = 640 * 480 * 2;

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(7)]
    public void A_command_without_a_whole_header_is_EINVAL(int readable)
    {
        var response = H.Reserve(64);
        var request = H.Place(MediaRequests.Open());
        var used = readable == 0
            ? H.SendChain([], [(response, 64)])
            : H.SendChain([(request, (uint)readable)], [(response, 64)]);
        AssertErrnoOnly(response, used, EINVAL);
        Assert.That(H.SessionCount(), Is.Zero, "no session was opened");
        AssertStillServing();
    }

    [TestCase(8)]
    [TestCase(12)]
    [TestCase(15)]
    public void An_ioctl_shorter_than_sixteen_bytes_is_EINVAL(int readable)
    {
        var session = H.OpenSession();
        var response = H.Reserve(64);
        var request = H.Place(MediaRequests.Ioctl(session, GFmt, Format(0, 0, 0)));
        AssertErrnoOnly(response, H.SendChain([(request, (uint)readable)], [(response, 64)]), EINVAL);
        AssertStillServing();
    }

    [Test]
    public void Open_without_room_for_its_answer_opens_nothing()
    {
        var request = H.Place(MediaRequests.Open());
        Assert.That(H.SendChain([(request, 8)], []), Is.Zero, "no writable part: nothing written");
        var response = H.Reserve(15);
        AssertErrnoOnly(response, H.SendChain([(request, 8)], [(response, 15)]), EINVAL);
        Assert.That(H.SessionCount(), Is.Zero);
        AssertStillServing();
    }

    [Test]
    public void An_ioctl_without_room_for_its_answer_changes_nothing()
    {
        var session = H.OpenSession();
        var request = H.Place(MediaRequests.Ioctl(session, SFmt, Format(1920, 1080, Nv12)));
        Assert.That(H.SendChain([(request, 16 + FormatSize)], []), Is.Zero, "no writable part");
        var response = H.Reserve(8 + FormatSize - 1);
        AssertErrnoOnly(response, H.SendChain([(request, 16 + FormatSize)], [(response, 8 + FormatSize - 1)]), EINVAL);
        AssertFormat(H.IoctlOk(session, GFmt, Format(0, 0, 0), FormatSize), Yuyv, 640, 480);
    }

    [Test]
    public void A_request_larger_than_any_command_is_EINVAL()
    {
        var session = H.OpenSession();
        var huge = new byte[300_000];
        MediaRequests.Ioctl(session, GFmt, Format(0, 0, 0)).CopyTo(huge, 0);
        var (status, payload) = H.Ioctl(session, GFmt, huge.AsSpan(16), FormatSize);
        Assert.That((status, payload.Length), Is.EqualTo((EINVAL, 0)));
        AssertStillServing();
    }

    [Test]
    public void A_command_flood_is_answered_in_full_and_in_order()
    {
        // 100 G_FMT chains published before one kick: more than the device handles in one turn of its loop.
        var session = H.OpenSession();
        var request = H.Place(MediaRequests.Ioctl(session, GFmt, Format(0, 0, 0)));
        var q = H.Driver.CommandQueue;
        var chains = new List<(ushort Head, ulong Response)>();
        for (var i = 0; i < 100; i++)
        {
            var response = H.Reserve(8 + FormatSize);
            chains.Add((q.AddChain([(request, 16 + FormatSize)], [(response, 8 + FormatSize)]), response));
        }

        q.Notify();
        foreach (var (head, response) in chains)
        {
            q.SetUsedEvent(q.UsedIndex);
            var (usedHead, length) = q.WaitUsed(MediaHarness.Timeout);
            Assert.That(usedHead, Is.EqualTo(head));
            Assert.That(length, Is.EqualTo(8 + FormatSize));
            Assert.That(U32(H.Ram.Span(response, 8), 0), Is.Zero);
            AssertFormat(H.Ram.Span(response + 8, FormatSize).ToArray(), Yuyv, 640, 480);
        }
    }

    [Test]
    public void A_wr_ioctl_whose_answer_aliases_its_request_reads_everything_first()
    {
        // The Linux driver points the response payload at the request payload's memory (a WR ioctl's two payloads are the same guest memory).
        var session = H.OpenSession();
        var header = H.Place(MediaRequests.Ioctl(session, SFmt));
        var payload = H.Place(Format(1280, 720, Yu12));
        var response = H.Reserve(8);
        var used = H.SendChain([(header, 16), (payload, FormatSize)], [(response, 8), (payload, FormatSize)]);
        Assert.That(used, Is.EqualTo(8 + FormatSize));
        Assert.That(U32(H.Ram.Span(response, 8), 0), Is.Zero);
        AssertFormat(H.Ram.Span(payload, FormatSize).ToArray(), Yu12, 1280, 720);
    }

    private static IEnumerable<TestCaseData> BadSgLists()
    {
        const ulong page = 4096;
        yield return Case("an entry in the VGA hole", EFAULT, ram => [(GuestRam.HoleStart, SizeImage)]);
        yield return Case("an entry running into the VGA hole", EFAULT, ram => [(GuestRam.HoleStart - page, SizeImage)]);
        yield return Case("an entry past the end of RAM", EFAULT, ram => [(ram.Size, SizeImage)]);
        yield return Case("an entry running past the end of RAM", EFAULT, ram => [(ram.Size - page, SizeImage)]);
        yield return Case("an entry at 2^63", EFAULT, ram => [(1UL << 63, SizeImage)]);
        yield return Case("an entry wrapping past 2^64", EFAULT, ram => [(ulong.MaxValue - page + 1, SizeImage)]);
        yield return Case("a second entry wrapping past 2^64", EFAULT,
            ram => [(ram.Allocate(page, page), (uint)page), (ulong.MaxValue, SizeImage)]);
        yield return Case("a zero-length first entry", EINVAL, ram => [(ram.Allocate(SizeImage, page), 0), (ram.Allocate(SizeImage, page), SizeImage)]);
        yield return Case("a zero-length entry in the middle", EINVAL,
            ram => [(ram.Allocate(page, page), (uint)page), (ram.Allocate(page, page), 0), (ram.Allocate(SizeImage, page), SizeImage)]);
        yield return Case("a list covering one byte less than the buffer", EINVAL, ram => [(ram.Allocate(SizeImage, page), SizeImage - 1)]);
        yield return Case("a list of one page for a 600 KiB buffer", EINVAL, ram => [(ram.Allocate(page, page), (uint)page)]);
    }

    [TestCaseSource(nameof(BadSgLists))]
    public void Qbuf_refuses_an_sg_list_that_does_not_describe_guest_ram(Func<GuestRam, (ulong, uint)[]> entries, uint errno)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var client = new CaptureClient(H);
        client.Allocate(1);
        var sg = SgList(entries(H.Ram));
        Assert.That(H.Ioctl(client.Session, QBuf, Buffer(0, 1, SizeImage), BufferSize, sg).Status, Is.EqualTo(errno));
        Assert.That(H.Ioctl(client.Session, PrepareBuf, Buffer(0, 1, SizeImage), BufferSize, sg).Status, Is.EqualTo(errno));
        Assert.That(client.FlagsOf(0), Is.EqualTo(V4l2.BufFlagTimestampMonotonic), "the buffer stays with the application");
        AssertStillServing();
    }

    [Test]
    public void Qbuf_refuses_reserved_bits_and_a_truncated_entry()
    {
        var client = new CaptureClient(H);
        client.Allocate(1);
        var sg = client.Buffers[0].SgList();
        var reserved = (byte[])sg.Clone();
        reserved[^1] = 1;
        Assert.That(H.Ioctl(client.Session, QBuf, Buffer(0, 1, SizeImage), BufferSize, reserved).Status, Is.EqualTo(EINVAL), "reserved");
        Assert.That(H.Ioctl(client.Session, QBuf, Buffer(0, 1, SizeImage), BufferSize, sg.AsSpan(0, sg.Length - 1)).Status,
            Is.EqualTo(EINVAL), "last entry cut short");
        Assert.That(client.FlagsOf(0), Is.EqualTo(V4l2.BufFlagTimestampMonotonic));
        client.Queue(0);
    }

    [Test]
    public void Qbuf_refuses_more_than_16384_sg_entries_and_buffers_above_64_MiB()
    {
        var client = new CaptureClient(H);
        client.Allocate(1);
        var page = H.Ram.Allocate(4096, 4096);
        var bytes = Enumerable.Repeat((page, 1u), 16385).ToArray();
        Assert.That(H.Ioctl(client.Session, QBuf, Buffer(0, 1, SizeImage), BufferSize, SgList(bytes)).Status, Is.EqualTo(EINVAL),
            "one-byte entries");
        var whole = H.Ram.Allocate(SizeImage, 4096);
        Assert.That(H.Ioctl(client.Session, QBuf, Buffer(0, 1, (64u << 20) + 1), BufferSize, SgList((whole, (64u << 20) + 1))).Status,
            Is.EqualTo(EINVAL), "a 64 MiB + 1 buffer");
        Assert.That(client.FlagsOf(0), Is.EqualTo(V4l2.BufFlagTimestampMonotonic));
        AssertStillServing();
    }

    // The device writes frames into the SG ranges later: a range over the command's own request or response would let
    // a frame overwrite them.
    [TestCase(false, 0, 4096u)]
    [TestCase(true, 0, 4096u)]
    [TestCase(true, 95, 1u)]
    [TestCase(true, -4095, 4096u)]
    [TestCase(false, 16, 1u)]
    public void Qbuf_refuses_sg_entries_over_the_command_s_own_descriptors(bool overResponse, int offset, uint length)
    {
        var client = new CaptureClient(H);
        client.Allocate(1);
        var frame = H.Ram.Allocate(SizeImage, 4096);
        var request = H.Ram.Allocate(16 + BufferSize + 32, 4096);
        var response = H.Reserve(8 + BufferSize, alignment: 4096);
        var target = (ulong)((long)(overResponse ? response : request) + offset);
        var bytes = MediaRequests.Ioctl(client.Session, QBuf, Buffer(0, 1, SizeImage + length));
        bytes = [.. bytes, .. SgList((target, length), (frame, SizeImage))];
        bytes.CopyTo(H.Ram.Span(request, bytes.Length));

        var used = H.SendChain([(request, (uint)bytes.Length)], [(response, 8 + BufferSize)]);

        AssertErrnoOnly(response, used, EFAULT);
        Assert.That(client.FlagsOf(0), Is.EqualTo(V4l2.BufFlagTimestampMonotonic));
        AssertStillServing();
    }

    [Test]
    public void An_sg_entry_right_next_to_the_command_is_fine()
    {
        var client = new CaptureClient(H);
        client.Allocate(1);
        var request = H.Ram.Allocate(16 + BufferSize + 16, 4096);
        var response = H.Reserve(8 + BufferSize);
        _ = H.Ram.Allocate(SizeImage, 16); // the frame's memory directly follows the response area
        var adjacent = response + 8 + BufferSize;
        var bytes = MediaRequests.Ioctl(client.Session, QBuf, Buffer(0, 1, SizeImage));
        bytes = [.. bytes, .. SgList((adjacent, SizeImage))];
        bytes.CopyTo(H.Ram.Span(request, bytes.Length));

        var used = H.SendChain([(request, (uint)bytes.Length)], [(response, 8 + BufferSize)]);

        Assert.That(used, Is.EqualTo(8 + BufferSize));
        Assert.That(U32(H.Ram.Span(response, 8), 0), Is.Zero);
        Assert.That(client.FlagsOf(0), Is.EqualTo(V4l2.BufFlagQueued | V4l2.BufFlagTimestampMonotonic));
    }

    [Test]
    public void An_eventq_buffer_too_small_for_an_event_comes_back_unused_and_the_event_takes_the_next()
    {
        var h = Start(eventBuffers: 0);
        var q = h.Driver.EventQueue;
        var tiny = h.Reserve(100);
        var big = h.Reserve(EventDqbufSize + 64);
        var tinyHead = q.AddChain([], [(tiny, 100)]);
        var bigHead = q.AddChain([], [(big, EventDqbufSize + 64)]);
        q.Notify();
        var client = new CaptureClient(h);
        client.Allocate(1);
        client.Queue(0);
        Assert.That(client.StreamOn(), Is.Zero);

        q.SetUsedEvent(q.UsedIndex);
        var first = q.WaitUsed(MediaHarness.Timeout);
        q.SetUsedEvent(q.UsedIndex);
        var second = q.WaitUsed(MediaHarness.Timeout);

        Assert.That(first, Is.EqualTo((tinyHead, 0u)), "the small buffer is returned empty");
        Assert.That(h.Ram.Span(tiny, 100).ContainsAnyExcept((byte)0xEE), Is.False, "and untouched");
        Assert.That(second, Is.EqualTo((bigHead, (uint)EventDqbufSize)));
        Assert.That(U32(h.Ram.Span(big, 16), 0), Is.EqualTo(1u), "EVT_DQBUF");
        Assert.That(h.Ram.Span(big + EventDqbufSize, 64).ContainsAnyExcept((byte)0xEE), Is.False, "nothing past 608 bytes");
    }

    /// <summary>The answer is the 8-byte header alone with <paramref name="errno"/>; the rest of the writable part is untouched.</summary>
    private void AssertErrnoOnly(ulong response, uint used, uint errno)
    {
        Assert.That(used, Is.EqualTo(8u), "used length: the header alone");
        Assert.That(U32(H.Ram.Span(response, 8), 0), Is.EqualTo(errno), "status");
        Assert.That(U32(H.Ram.Span(response, 8), 4), Is.Zero, "reserved");
        Assert.That(H.Ram.Span(response + 8, 7).ContainsAnyExcept((byte)0xEE), Is.False, "nothing after the header");
    }

    private static TestCaseData Case(string name, uint errno, Func<GuestRam, (ulong, uint)[]> entries) =>
        new TestCaseData(entries, errno).SetArgDisplayNames(name);
}
