using System.Text;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;
using static Spectrum.Camera.Uapi.V4l2IoctlNumber;

namespace Spectrum.Camera.Tests.Media;

/// <summary>Config space, the five commands, and the ioctl allowlist (virtio 1.4 §5.22).</summary>
public sealed class CommandTests : MediaTestBase
{
    [Test]
    public void Config_space_is_capture_streaming_ext_pix_format_video_node_and_the_card_name()
    {
        var h = Start(card: "Desk Cam");
        var reply = h.Vmm.Client.GetConfigBytes(0, 40);
        Assert.That(reply, Has.Length.EqualTo(12 + 40));
        Assert.Multiple(() =>
        {
            Assert.That(U32(reply, 12), Is.EqualTo(V4l2.CapVideoCapture | V4l2.CapStreaming | V4l2.CapExtPixFormat), "device_caps");
            Assert.That(U32(reply, 16), Is.Zero, "device_type VFL_TYPE_VIDEO");
            Assert.That(CString(reply.AsSpan(20), 32), Is.EqualTo("Desk Cam"), "card");
        });
    }

    [Test]
    public void Open_answers_sixteen_bytes_with_a_fresh_session_and_close_answers_nothing()
    {
        var first = H.Send(MediaRequests.Open(), 64);
        var second = H.Send(MediaRequests.Open(), 16);
        Assert.That(first, Has.Length.EqualTo(16), "OPEN writes exactly its response");
        Assert.That(second, Has.Length.EqualTo(16));
        AssertZeroOutside(first, "resp_open", (8, 4));
        Assert.That(U32(second, 0), Is.Zero);
        Assert.That(U32(second, 8), Is.Not.EqualTo(U32(first, 8)), "session ids are unique");
        Assert.That(H.SessionCount(), Is.EqualTo(2));

        Assert.That(H.Close(U32(first, 8)), Is.Zero, "CLOSE has no response");
        Assert.That(H.Close(U32(second, 8)), Is.Zero);
        Assert.That(H.SessionCount(), Is.Zero);
    }

    [Test]
    public void Close_of_an_unknown_session_is_ignored()
    {
        var session = H.OpenSession();
        Assert.That(H.Close(session + 1000), Is.Zero);
        Assert.That(H.Close(session), Is.Zero);
        Assert.That(H.Close(session), Is.Zero, "a second CLOSE of the same id");
        AssertStillServing();
    }

    [Test]
    public void Mmap_is_not_supported_without_a_shared_memory_window_and_munmap_has_nothing_to_unmap()
    {
        var session = H.OpenSession();
        var mmap = Bytes(new VirtioMediaMmapCommand
        {
            Header = new VirtioMediaCommandHeader { Command = VirtioMediaWire.CmdMmap },
            SessionId = session,
            Flags = 1,
        });
        var munmap = Bytes(new VirtioMediaMunmapCommand
        {
            Header = new VirtioMediaCommandHeader { Command = VirtioMediaWire.CmdMunmap },
            DriverAddress = 0x1000,
        });

        var mmapAnswer = H.Send(mmap, 24);
        var munmapAnswer = H.Send(munmap, 8);

        Assert.That(mmapAnswer, Has.Length.EqualTo(8));
        Assert.That(U32(mmapAnswer, 0), Is.EqualTo(ENOTTY));
        Assert.That(U32(mmapAnswer, 4), Is.Zero, "reserved");
        Assert.That(munmapAnswer, Has.Length.EqualTo(8));
        Assert.That(U32(munmapAnswer, 0), Is.EqualTo(EINVAL));
        Assert.That(U32(munmapAnswer, 4), Is.Zero, "reserved");
    }

    [TestCase(0u)]
    [TestCase(6u)]
    [TestCase(9u)]
    [TestCase(0xFFFFFFFFu)]
    public void Unknown_commands_get_ENOTTY(uint command)
    {
        byte[] request = [.. MediaRequests.Header(command), .. new byte[8]];
        var answer = H.Send(request, 64);
        Assert.That(answer, Has.Length.EqualTo(8));
        Assert.That(U32(answer, 0), Is.EqualTo(ENOTTY));
        Assert.That(U32(answer, 4), Is.Zero);
        AssertStillServing();
    }

    // A sample of what the allowlist leaves out: QUERYCAP and DQBUF/DQEVENT never travel (spec), controls, events,
    // standards, selection, EXPBUF, REMOVE_BUFS, and numbers no V4L2 ioctl uses.
    [TestCase(QueryCap, 104)]
    [TestCase(DQBuf, BufferSize)]
    [TestCase(DQEvent, 136)]
    [TestCase(ExpBuf, 64)]
    [TestCase(GCtrl, 8)]
    [TestCase(SCtrl, 8)]
    [TestCase(QueryCtrl, 68)]
    [TestCase(QueryExtCtrl, 232)]
    [TestCase(GExtCtrls, 32)]
    [TestCase(SExtCtrls, 32)]
    [TestCase(SubscribeEvent, 32)]
    [TestCase(GStd, 8)]
    [TestCase(SStd, 8)]
    [TestCase(EnumStd, 72)]
    [TestCase(GSelection, 64)]
    [TestCase((V4l2IoctlNumber)104, 64)] // REMOVE_BUFS (Linux 6.10)
    [TestCase((V4l2IoctlNumber)1, 0)]
    [TestCase((V4l2IoctlNumber)200, 16)]
    [TestCase((V4l2IoctlNumber)0xFFFFFFFF, 16)]
    public void Ioctls_outside_the_allowlist_get_ENOTTY_with_the_payload_written_back_unchanged(V4l2IoctlNumber code, int size)
    {
        var session = H.OpenSession();
        var sent = Enumerable.Range(0, size).Select(i => (byte)(i * 7 + 1)).ToArray();
        var (status, payload) = H.Ioctl(session, code, sent, size);
        Assert.That(status, Is.EqualTo(ENOTTY));
        Assert.That(payload, Is.EqualTo(sent), "the refusal carries the driver's payload back, byte for byte");
        AssertStillServing();
    }

    [Test]
    public void Ioctl_on_an_unknown_or_closed_session_is_EINVAL()
    {
        var session = H.OpenSession();
        Assert.That(H.Ioctl(session + 1, GFmt, Format(0, 0, 0), FormatSize).Status, Is.EqualTo(EINVAL));
        H.Close(session);
        Assert.That(H.Ioctl(session, GFmt, Format(0, 0, 0), FormatSize).Status, Is.EqualTo(EINVAL));
        Assert.That(H.Ioctl(session, QueryCap, new byte[104], 104).Status, Is.EqualTo(EINVAL), "the session is checked first");
        AssertStillServing();
    }

    [Test]
    public void Responses_never_write_past_their_used_length()
    {
        // 4 KiB of room for an 8 + 208 byte answer: the rest of the writable part keeps the driver's fill byte.
        var session = H.OpenSession();
        var response = H.Ram.Allocate(4096, 4096);
        H.Ram.Span(response, 4096).Fill(0xEE);
        var request = H.Ram.Allocate(16 + FormatSize, 16);
        var header = MediaRequests.Ioctl(session, GFmt);
        header.CopyTo(H.Ram.Span(request, 16));
        Format(0, 0, 0).CopyTo(H.Ram.Span(request + 16, FormatSize));

        var used = H.SendChain([(request, 16 + FormatSize)], [(response, 4096)]);

        Assert.That(used, Is.EqualTo(8 + FormatSize));
        Assert.That(H.Ram.Span(response + used, (int)(4096 - used)).ContainsAnyExcept((byte)0xEE), Is.False);
        Assert.That(Encoding.ASCII.GetString(H.Ram.Span(response + 24, 4)), Is.EqualTo("YUYV"));
    }
}
