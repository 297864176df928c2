using Spectrum.Camera.Threading;

namespace Spectrum.Camera.Service.Feeds;

/// <summary>Makes the feed a <c>--camera</c> value names.</summary>
public static class CameraFeeds
{
    /// <summary>
    /// <c>test-pattern</c> or <c>test-pattern:N</c> (N from 0 to 255): the synthetic <see cref="TestPatternCameraFeed"/>
    /// with pattern N; <c>vm:VM</c>: the camera VM VM (<see cref="ProducerCameraFeed"/>, whose producer connects
    /// through the socket the service makes for it); otherwise an absolute device path
    /// (<c>/dev/video0</c>, or better a <c>/dev/v4l/by-id/...</c> link, which survives re-plugging): a
    /// <see cref="V4l2CameraFeed"/>. The device need not exist yet: the feed retries until it appears.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="spec"/> is empty, names no VM, or is not an absolute path.</exception>
    public static ICameraFeed Create(EventLoop loop, string spec)
    {
        ArgumentNullException.ThrowIfNull(loop);
        if (string.IsNullOrWhiteSpace(spec))
        {
            throw new ArgumentException(
                $"no camera given: name a V4L2 device (/dev/video0, /dev/v4l/by-id/...) or '{TestPatternCameraFeed.FeedName}'", nameof(spec));
        }

        if (spec == TestPatternCameraFeed.FeedName)
        {
            return new TestPatternCameraFeed(loop);
        }

        if (spec.StartsWith(TestPatternCameraFeed.FeedName + ":", StringComparison.Ordinal))
        {
            var number = spec[(TestPatternCameraFeed.FeedName.Length + 1)..];
            return byte.TryParse(number, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pattern)
                ? new TestPatternCameraFeed(loop, pattern)
                : throw new ArgumentException(
                    $"camera '{spec}': the test-pattern number must be 0 to {TestPatternCameraFeed.MaxPattern} ('{TestPatternCameraFeed.FeedName}:N'), "
                    + "or name a V4L2 device (/dev/video0, /dev/v4l/by-id/...)", nameof(spec));
        }

        if (spec.StartsWith(ProducerCameraFeed.SpecPrefix, StringComparison.Ordinal))
        {
            return new ProducerCameraFeed(loop, spec[ProducerCameraFeed.SpecPrefix.Length..]);
        }

        return Path.IsPathRooted(spec)
            ? new V4l2CameraFeed(loop, spec)
            : throw new ArgumentException(
                $"camera '{spec}' is neither '{TestPatternCameraFeed.FeedName}', '{ProducerCameraFeed.SpecPrefix}VM' nor an absolute device path (/dev/video0, /dev/v4l/by-id/...)",
                nameof(spec));
    }
}
