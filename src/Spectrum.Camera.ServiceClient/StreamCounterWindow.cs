using Spectrum.Camera.Protocol.Service;

namespace Spectrum.Camera.ServiceClient;

/// <summary>
/// The frames written since the StartStream the service last saw, split into camera and black, and what the last
/// StreamCounters report said. The service shows these per VM; after a reconnection the frames it has not been told
/// about are reported again to the new connection.
/// </summary>
internal sealed class StreamCounterWindow
{
    private ulong _camera;
    private ulong _black;
    private ulong _reportedCamera;
    private ulong _reportedBlack;

    public void CountCamera() => _camera++;

    public void CountBlack() => _black++;

    /// <summary>A new stream: nothing written, nothing reported.</summary>
    public void Reset() => _camera = _black = _reportedCamera = _reportedBlack = 0;

    /// <summary>A new connection forgot the stream: count again from what the old one was last told.</summary>
    public void ForgetReported()
    {
        _camera -= _reportedCamera;
        _black -= _reportedBlack;
        _reportedCamera = _reportedBlack = 0;
    }

    public StreamCounters Report() => new() { CameraFrames = _camera, BlackFrames = _black };

    /// <summary>The report from <see cref="Report"/> went out.</summary>
    public void MarkReported()
    {
        _reportedCamera = _camera;
        _reportedBlack = _black;
    }
}
