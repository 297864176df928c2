using Spectrum.Camera.Threading;
using Spectrum.Camera.Service.Feeds;

namespace Spectrum.Camera.Tests.Service.Feeds;

/// <summary>The <c>--camera</c> value to feed (<see cref="CameraFeeds.Create"/>).</summary>
[TestFixture]
[NonParallelizable]
public sealed class CameraFeedsTests
{
    [Test]
    public void Test_pattern_is_the_synthetic_camera()
    {
        using var loop = new EventLoop();
        using var feed = CameraFeeds.Create(loop, "test-pattern");
        Assert.That(feed, Is.TypeOf<TestPatternCameraFeed>());
        Assert.That(feed.Name, Is.EqualTo("test-pattern"));
        Assert.That(feed.State, Is.EqualTo(FeedState.Stopped));
    }

    [TestCase("/dev/video0")]
    [TestCase("/dev/v4l/by-id/usb-046d_HD_Pro_Webcam_C920-video-index0")]
    public void A_device_path_is_a_v4l2_camera_that_need_not_exist_yet(string path)
    {
        using var loop = new EventLoop();
        using var feed = CameraFeeds.Create(loop, path);
        Assert.That(feed, Is.TypeOf<V4l2CameraFeed>());
        Assert.That(feed.Name, Is.EqualTo(path));
        Assert.That(feed.State, Is.EqualTo(FeedState.Stopped));
    }

    [TestCase("")]
    [TestCase("  ")]
    [TestCase("video0")]
    [TestCase("test_pattern")]
    public void Anything_else_is_a_clear_argument_error(string spec)
    {
        using var loop = new EventLoop();
        var e = Assert.Throws<ArgumentException>(() => CameraFeeds.Create(loop, spec));
        Assert.That(e!.Message, Does.Contain("test-pattern").And.Contain("/dev/v4l/by-id"));
    }
}
