namespace Spectrum.Camera.Frames;

/// <summary>
/// A frame source whose frames come on a clock of their own (a camera, through the camera service): it tells the
/// device when a new frame has arrived, so the device's frame clock can follow the camera's phase and show each frame
/// once. Sources without one (the test pattern, black) are paced by the device's own clock alone.
/// </summary>
public interface IFrameArrivals
{
    /// <summary>
    /// The device follows the arrivals (<paramref name="arrived"/>, called on the loop thread each time a frame
    /// arrives that <see cref="IFrameSource.Render"/> would now show and has not shown), or stops following them (null).
    /// Set on the loop thread around a stream: after <see cref="IFrameSource.StreamStarted"/>, and to null before
    /// <see cref="IFrameSource.StreamStopped"/>.
    /// </summary>
    void FollowArrivals(Action? arrived);
}
