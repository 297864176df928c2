using Spectrum.Camera.Frames;
using Spectrum.Camera.Host;
using Spectrum.Camera.Protocol;
using Spectrum.Camera.Protocol.Producer;
using Spectrum.Camera.Service.Feeds;

namespace Spectrum.Camera.Tests.Service.Feeds;

/// <summary>
/// What the service accepts from a camera VM (<see cref="ProducerStream"/>) and what it asks for
/// (<see cref="ProducerCameraFeed.MenuModes"/> with <see cref="ModeSelector"/>): the stream is checked against the
/// menu before anything is allocated, and each announced frame against the ring before it is copied.
/// </summary>
[TestFixture]
public sealed class ProducerStreamTests
{
    private static ProducerStreamStarted Started(uint fourcc, uint width, uint height, uint fps, uint? sizeImage = null) => new()
    {
        PixelFormat = fourcc,
        Width = width,
        Height = height,
        IntervalNumerator = 1,
        IntervalDenominator = fps,
        SizeImage = sizeImage ?? new FrameFormat(fourcc, width, height).SizeImage,
    };

    [Test]
    public void Every_format_size_and_rate_of_the_menu_is_accepted_with_a_ring_of_exactly_its_frames()
    {
        foreach (var fourcc in StableMenu.Default.Formats)
        {
            foreach (var (width, height) in StableMenu.Default.Sizes)
            {
                foreach (var fps in new uint[] { 30, 15 })
                {
                    using var stream = ProducerStream.Open(Started(fourcc, width, height, fps), StableMenu.Default, 4, out var error);
                    Assert.That(stream, Is.Not.Null, error);
                    Assert.That(stream!.Ring.Layout.FrameSize, Is.EqualTo((int)new FrameFormat(fourcc, width, height).SizeImage));
                    Assert.That(stream.Mode, Is.EqualTo(new HostMode(fourcc, width, height, FrameRate.FromFps(fps))));
                }
            }
        }
    }

    [TestCase(0x47504A4Du, 640u, 480u, 30u, 100_000u, "pixel format MJPG")]
    [TestCase(0u, 640u, 480u, 30u, 0u, "pixel format")]
    [TestCase(PixelFormats.Yuyv, 800u, 600u, 30u, null, "size 800x600")]
    [TestCase(PixelFormats.Yuyv, 4294967295u, 4294967295u, 30u, 0u, "size 4294967295x4294967295")]
    [TestCase(PixelFormats.Yuyv, 0u, 0u, 30u, 0u, "size 0x0")]
    [TestCase(PixelFormats.Nv12, 640u, 480u, 30u, 614_400u, "size_image 614400 is not 460800")]
    [TestCase(PixelFormats.Yu12, 640u, 480u, 60u, null, "frame interval 1/60")]
    [TestCase(PixelFormats.Yu12, 640u, 480u, 0u, null, "frame interval 1/0")]
    public void Anything_else_is_refused_with_the_reason(uint fourcc, uint width, uint height, uint fps, uint? sizeImage, string reason)
    {
        var started = Started(PixelFormats.Yuyv, 640, 480, 30);
        (started.PixelFormat, started.Width, started.Height, started.IntervalDenominator) = (fourcc, width, height, fps);
        started.SizeImage = sizeImage ?? (PixelFormats.IsSupported(fourcc) ? new FrameFormat(fourcc, width, height).SizeImage : 0);
        Assert.That(ProducerStream.Open(started, StableMenu.Default, 4, out var error), Is.Null);
        Assert.That(error, Does.Contain(reason));
    }

    [Test]
    public void A_menu_size_whose_frames_a_ring_cannot_carry_is_refused_before_anything_is_allocated()
    {
        var huge = StableMenu.Parse("formats=YUYV;sizes=8192x8192;fps=30");
        Assert.That(ProducerStream.Open(Started(PixelFormats.Yuyv, 8192, 8192, 30), huge, 4, out var error), Is.Null);
        Assert.That(error, Does.Contain("larger than a ring carries"));
    }

    [Test]
    public void An_announced_frame_is_checked_against_the_ring_before_anything_is_copied()
    {
        using var stream = ProducerStream.Open(Started(PixelFormats.Yuyv, 320, 240, 30), StableMenu.Default, 4, out _)!;
        using var writer = FrameRingWriter.Attach(stream.Ring.Id, stream.Ring.Fd, 4, (uint)stream.Ring.Layout.SlotSize, (uint)stream.Ring.Layout.FrameSize);
        var frame = Enumerable.Range(0, (int)stream.Format.SizeImage).Select(i => (byte)(i * 7)).ToArray();
        frame.CopyTo(writer.BeginWrite(out var slot));
        writer.EndWrite(5, 0);
        var second = 40_000_000L;
        Assert.Multiple(() =>
        {
            Assert.That(stream.Receive(new ProducerFrame { RingId = stream.Ring.Id + 1, Slot = (uint)slot, Sequence = 5 }, 0), Is.EqualTo(ProducerFrameOutcome.OtherRing));
            Assert.That(stream.Receive(new ProducerFrame { RingId = stream.Ring.Id, Slot = 4, Sequence = 5 }, 0), Is.EqualTo(ProducerFrameOutcome.BadSlot));
            Assert.That(stream.Receive(new ProducerFrame { RingId = stream.Ring.Id, Slot = uint.MaxValue, Sequence = 5 }, 0), Is.EqualTo(ProducerFrameOutcome.BadSlot));
            Assert.That(stream.Receive(new ProducerFrame { RingId = stream.Ring.Id, Slot = (uint)slot, Sequence = 6 }, 0), Is.EqualTo(ProducerFrameOutcome.Stale));
            Assert.That(stream.Receive(new ProducerFrame { RingId = stream.Ring.Id, Slot = (uint)slot, Sequence = 5 }, second), Is.EqualTo(ProducerFrameOutcome.Copied));
            Assert.That(stream.Frame.ToArray(), Is.EqualTo(frame), "the service's copy is the frame");
            Assert.That(stream.Receive(new ProducerFrame { RingId = stream.Ring.Id, Slot = (uint)slot, Sequence = 5 }, 2 * second), Is.EqualTo(ProducerFrameOutcome.Stale), "a replay");
            Assert.That(stream.Receive(new ProducerFrame { RingId = stream.Ring.Id, Slot = (uint)slot, Sequence = 4 }, 3 * second), Is.EqualTo(ProducerFrameOutcome.Stale), "going back");
        });
    }

    [TestCase(PixelFormats.Yuyv, 1280u, 720u, 30u, PixelFormats.Yuyv, 1280u, 720u, 30u)]
    [TestCase(PixelFormats.Nv12, 800u, 600u, 15u, PixelFormats.Nv12, 1280u, 720u, 15u)]
    [TestCase(PixelFormats.Yu12, 3840u, 2160u, 30u, PixelFormats.Yu12, 1920u, 1080u, 30u)]
    [TestCase(PixelFormats.Yuyv, 640u, 480u, 60u, PixelFormats.Yuyv, 640u, 480u, 30u)]
    public void Demand_asks_the_menu_mode_the_v4l2_feed_would_open_for_the_plan(
        uint fourcc, uint width, uint height, uint fps, uint wantFourcc, uint wantWidth, uint wantHeight, uint wantFps)
    {
        var plan = FeedModePlanner.Plan([new StreamRequest(new FrameFormat(fourcc, width, height), FrameRate.FromFps(fps))]);
        var selected = ModeSelector.Select(ProducerCameraFeed.MenuModes(StableMenu.Default), plan.Format, plan.Rate);
        Assert.That(selected?.Mode, Is.EqualTo(new HostMode(wantFourcc, wantWidth, wantHeight, FrameRate.FromFps(wantFps))));
    }
}
