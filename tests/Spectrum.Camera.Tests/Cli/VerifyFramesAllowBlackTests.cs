using System.Text.Json;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Sources;

namespace Spectrum.Camera.Tests.Cli;

/// <summary>verify-frames --allow-black, as the permission end-to-end test uses it on a capture that mixes black and
/// test-pattern frames.</summary>
[TestFixture]
[NonParallelizable]
public sealed class VerifyFramesAllowBlackTests
{
    private static readonly FrameFormat Format = new(PixelFormats.Yuyv, 320, 240);
    private static readonly string[] MixedClasses = ["black", "black", "pattern", "pattern", "pattern", "black", "pattern", "pattern", "pattern"];
    private static readonly string[] DamagedClasses = ["black", "other", "inexact"];
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("spectrum-verify-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void Black_and_pattern_runs_numbered_afresh_pass_and_every_frame_is_classified()
    {
        // Default deny (black), allowed (camera frames 5, 6, 8), denied, allowed again (the camera restarts at 0,
        // and frame 0 is shown twice: the camera had not delivered frame 1 yet at the sidecar's next period).
        var file = Write(Black(), Black(), Pattern(5), Pattern(6), Pattern(8), Black(), Pattern(0), Pattern(0), Pattern(1));
        var (code, stdout, _) = SidecarProcess.Run("verify-frames", "--format", "YUYV", "--size", "320x240", "--allow-black", "--json", file);
        Assert.That(code, Is.Zero, stdout);
        using var report = JsonDocument.Parse(stdout.Trim());
        var root = report.RootElement;
        Assert.That(root.GetProperty("ok").GetBoolean(), Is.True);
        Assert.That(root.GetProperty("frames").GetInt32(), Is.EqualTo(9));
        Assert.That(root.GetProperty("verified").GetInt32(), Is.EqualTo(6));
        Assert.That(root.GetProperty("repeated").GetInt32(), Is.EqualTo(1));
        Assert.That(root.GetProperty("black").GetInt32(), Is.EqualTo(3));
        Assert.That(root.GetProperty("pattern_runs").GetInt32(), Is.EqualTo(2));
        Assert.That(root.GetProperty("classes").EnumerateArray().Select(e => e.GetString()),
            Is.EqualTo(MixedClasses));
        Assert.That(root.GetProperty("numbers").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? -1 : e.GetInt32()),
            Is.EqualTo(new[] { -1, -1, 5, 6, 8, -1, 0, 0, 1 }));
    }

    [Test]
    public void Without_the_option_the_same_mixed_capture_is_still_judged_as_one_clean_stream()
    {
        var file = Write(Black(), Pattern(5), Black(), Pattern(0));
        var (code, stdout, _) = SidecarProcess.Run("verify-frames", "--format", "YUYV", "--size", "320x240", file);
        Assert.That(code, Is.EqualTo(1), stdout);
    }

    [Test]
    public void A_number_that_goes_back_within_a_run_fails()
    {
        var file = Write(Black(), Pattern(5), Pattern(4));
        var (code, stdout, _) = SidecarProcess.Run("verify-frames", "--format", "YUYV", "--size", "320x240", "--allow-black", "--json", file);
        Assert.That(code, Is.EqualTo(1));
        using var report = JsonDocument.Parse(stdout.Trim());
        Assert.That(report.RootElement.GetProperty("in_order_within_runs").GetBoolean(), Is.False);
        Assert.That(report.RootElement.GetProperty("first_out_of_order").GetInt32(), Is.EqualTo(2));
    }

    [Test]
    public void A_frame_that_is_neither_black_nor_the_pattern_fails_and_is_named()
    {
        var grey = new byte[Format.SizeImage];
        Array.Fill(grey, (byte)100);
        var damaged = Pattern(3);
        damaged[^1] ^= 0x55; // the marker and number survive, the bytes do not
        var file = Write(Black(), grey, damaged);
        var (code, stdout, _) = SidecarProcess.Run("verify-frames", "--format", "YUYV", "--size", "320x240", "--allow-black", "--json", file);
        Assert.That(code, Is.EqualTo(1));
        using var report = JsonDocument.Parse(stdout.Trim());
        Assert.That(report.RootElement.GetProperty("classes").EnumerateArray().Select(e => e.GetString()),
            Is.EqualTo(DamagedClasses));
        Assert.That(report.RootElement.GetProperty("other").GetInt32(), Is.EqualTo(1));
        Assert.That(report.RootElement.GetProperty("inexact").GetInt32(), Is.EqualTo(1));
    }

    [Test]
    public void Text_report_counts_the_classes()
    {
        var file = Write(Black(), Pattern(1), Pattern(2));
        var (code, stdout, _) = SidecarProcess.Run("verify-frames", "--format", "YUYV", "--size", "320x240", "--allow-black", file);
        Assert.That(code, Is.Zero, stdout);
        Assert.That(stdout, Does.Contain("2 exact test-pattern frames in 1 run(s), 1 black, 0 inexact, 0 other, 0 repeated"));
        Assert.That(stdout, Does.Contain(": OK"));
    }

    private static byte[] Pattern(uint number) => Render(new TestPatternSource(), number);

    private static byte[] Black() => Render(new BlackFrameSource(), 0);

    private static byte[] Render(IFrameSource source, uint number)
    {
        var sink = new MemoryFrameSink((int)Format.SizeImage);
        source.Render(Format, number, sink);
        return sink.WrittenMemory.ToArray();
    }

    private string Write(params byte[][] frames)
    {
        var path = Path.Combine(_dir, "capture.raw");
        File.WriteAllBytes(path, frames.SelectMany(f => f).ToArray());
        return path;
    }
}
