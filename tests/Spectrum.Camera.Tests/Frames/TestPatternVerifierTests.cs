using Spectrum.Camera.Frames;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.Tests.Frames;

public class TestPatternVerifierTests
{
    private static readonly FrameFormat Format = new(PixelFormats.Yu12, 320, 240);

    private static byte[] Stream(FrameFormat format, params uint[] numbers) =>
        numbers.SelectMany(n => TestPatternSourceTests.Render(format, n)).ToArray();

    [TestCaseSource(typeof(FrameFormatTests), nameof(FrameFormatTests.MenuFormats))]
    public void An_in_order_stream_with_gaps_is_clean(FrameFormat format)
    {
        var report = TestPatternVerifier.VerifyStream(format, Stream(format, 5, 6, 9, 0xFFFF_FFFF));

        Assert.That(report.Frames, Is.EqualTo(4));
        Assert.That(report.ExactFrames, Is.EqualTo(4));
        Assert.That(report.MarkedFrames, Is.EqualTo(4));
        Assert.That((report.FirstFrameNumber, report.LastFrameNumber), Is.EqualTo(((uint?)5, (uint?)0xFFFF_FFFF)));
        Assert.That(report.StrictlyIncreasing, Is.True);
        Assert.That(report.FirstOutOfOrderIndex, Is.Null);
        Assert.That(report.SkippedNumbers, Is.EqualTo(2UL + (0xFFFF_FFFFUL - 9 - 1)));
        Assert.That(report.IsCleanTestPatternStream, Is.True);
    }

    [Test]
    public void A_reordered_stream_reports_where_order_broke()
    {
        var report = TestPatternVerifier.VerifyStream(Format, Stream(Format, 1, 2, 4, 3, 5, 5));

        Assert.That(report.Frames, Is.EqualTo(6));
        Assert.That(report.ExactFrames, Is.EqualTo(6));
        Assert.That(report.StrictlyIncreasing, Is.False);
        Assert.That(report.FirstOutOfOrderIndex, Is.EqualTo(3));
        Assert.That(report.OutOfOrderFrames, Is.EqualTo(2)); // 4 -> 3 and the repeated 5.
        Assert.That(report.IsCleanTestPatternStream, Is.False);
    }

    [Test]
    public void A_truncated_stream_counts_whole_frames_and_reports_the_tail()
    {
        var whole = Stream(Format, 10, 11, 12);
        var truncated = whole.AsSpan(0, whole.Length - ((int)Format.SizeImage / 2));

        var report = TestPatternVerifier.VerifyStream(Format, truncated);

        Assert.That(report.Frames, Is.EqualTo(2));
        Assert.That(report.TrailingBytes, Is.EqualTo(Format.SizeImage / 2));
        Assert.That(report.ExactFrames, Is.EqualTo(2));
        Assert.That(report.LastFrameNumber, Is.EqualTo(11));
        Assert.That(report.IsCleanTestPatternStream, Is.False);
    }

    [Test]
    public void Black_and_corrupted_frames_are_counted_apart()
    {
        var corrupted = TestPatternSourceTests.Render(Format, 3);
        corrupted[^1] ^= 0x01; // Last Cr byte: the number and marker still read, the frame is no longer exact.
        byte[] file = [.. TestPatternSourceTests.Render(Format, 2), .. BlackFrameSourceTests.Render(Format), .. corrupted];

        var report = TestPatternVerifier.VerifyStream(Format, file);

        Assert.That(report.Frames, Is.EqualTo(3));
        Assert.That(report.MarkedFrames, Is.EqualTo(2));
        Assert.That(report.BlackFrames, Is.EqualTo(1));
        Assert.That(report.ExactFrames, Is.EqualTo(1));
        Assert.That(report.StrictlyIncreasing, Is.True);
        Assert.That(report.IsCleanTestPatternStream, Is.False);
    }

    [Test]
    public void An_empty_file_is_not_a_clean_stream()
    {
        var report = TestPatternVerifier.VerifyStream(Format, []);
        Assert.That((report.Frames, report.TrailingBytes, report.FirstFrameNumber), Is.EqualTo((0, 0, (uint?)null)));
        Assert.That(report.IsCleanTestPatternStream, Is.False);
    }

    [Test]
    public void A_changed_pixel_keeps_the_number_but_is_not_exact()
    {
        var frame = TestPatternSourceTests.Render(Format, 77);
        frame[(int)Format.PlaneSize(0) - 1] ^= 0x80;

        Assert.That(TestPatternVerifier.TryDecode(Format, frame, out var number, out var exact), Is.True);
        Assert.That((number, exact), Is.EqualTo((77u, false)));
    }

    [Test]
    public void Noise_mid_grey_and_wrong_lengths_carry_no_marker()
    {
        var noise = new byte[Format.SizeImage];
        new Random(1234).NextBytes(noise);
        var grey = Enumerable.Repeat((byte)128, (int)Format.SizeImage).ToArray();
        var frame = TestPatternSourceTests.Render(Format, 1);

        Assert.That(TestPatternVerifier.TryDecode(Format, noise, out _, out _), Is.False);
        Assert.That(TestPatternVerifier.TryDecode(Format, grey, out _, out _), Is.False);
        Assert.That(TestPatternVerifier.TryDecode(Format, frame.AsSpan(1), out _, out _), Is.False);
        Assert.That(TestPatternVerifier.IsBlack(Format, BlackFrameSourceTests.Render(Format).AsSpan(1)), Is.False);
    }

    [Test]
    public void A_frame_decoded_as_another_format_is_not_exact()
    {
        // A YUYV 320x240 frame (153600 bytes) is not mistaken for a YU12 frame (115200 bytes) of the same size.
        var yuyv = TestPatternSourceTests.Render(new FrameFormat(PixelFormats.Yuyv, 320, 240), 8);
        Assert.That(TestPatternVerifier.TryDecode(Format, yuyv, out _, out _), Is.False);

        // Same size in bytes, different layout: NV12 and YU12 share the Y plane, so the number reads, but only
        // the right format is exact.
        var nv12 = TestPatternSourceTests.Render(new FrameFormat(PixelFormats.Nv12, 320, 240), 8);
        Assert.That(TestPatternVerifier.TryDecode(Format, nv12, out var number, out var exact), Is.True);
        Assert.That((number, exact), Is.EqualTo((8u, false)));
    }

    [Test]
    public void A_single_flipped_bit_in_a_black_frame_is_not_black()
    {
        foreach (var pixelFormat in StableMenu.Default.Formats)
        {
            var format = new FrameFormat(pixelFormat, 320, 240);
            var frame = BlackFrameSourceTests.Render(format);
            frame[frame.Length / 2] ^= 0x01;
            Assert.That(TestPatternVerifier.IsBlack(format, frame), Is.False, format.ToString());
        }
    }
}
