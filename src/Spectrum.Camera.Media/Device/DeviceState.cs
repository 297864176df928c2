using Spectrum.Camera.Frames;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The device-wide configuration every session sees, like a V4L2 driver's: the constant menu, the current format and
/// frame interval, the one buffer queue (of the capture device or of the output device) and the open sessions.
/// </summary>
internal sealed class DeviceState
{
    private (FrameFormat Format, FrameRate Rate)? _requestedMode;

    public DeviceState(StableMenu menu, int sessionLimit, uint bufferType = V4l2.BufTypeVideoCapture)
    {
        if (bufferType is not (V4l2.BufTypeVideoCapture or V4l2.BufTypeVideoOutput))
        {
            throw new ArgumentOutOfRangeException(nameof(bufferType), bufferType, "a device has a VIDEO_CAPTURE or a VIDEO_OUTPUT queue");
        }

        BufferType = bufferType;
        Menu = menu;
        Format = menu.DefaultFormat;
        Rate = menu.DefaultRate;
        Sessions = new SessionTable(sessionLimit);
    }

    /// <summary>
    /// The V4L2 buffer type of the device's one queue (VIDEO_CAPTURE or VIDEO_OUTPUT): the only type its format,
    /// parameter and buffer ioctls accept.
    /// </summary>
    public uint BufferType { get; }

    /// <summary>True for the output device, whose buffers carry frames from the guest to the host.</summary>
    public bool IsOutput => BufferType == V4l2.BufTypeVideoOutput;

    public StableMenu Menu { get; }

    public FrameFormat Format { get; set; }

    public FrameRate Rate { get; set; }

    public BufferQueue Queue { get; } = new();

    public SessionTable Sessions { get; }

    /// <summary>Raised when the frame interval changes, so a running stream re-arms its timer.</summary>
    public event Action? RateChanged;

    public void SetRate(FrameRate rate)
    {
        if (rate != Rate)
        {
            Rate = rate;
            RateChanged?.Invoke();
        }
    }

    /// <summary>
    /// The output device's host asks for frames in this mode (a menu format and rate). It becomes the format and rate
    /// at once if no buffers exist, otherwise when the queue is next freed (REQBUFS 0, the owner's close, a reset),
    /// and is then forgotten: the guest may set another format after that.
    /// </summary>
    public void RequestMode(FrameFormat format, FrameRate rate)
    {
        _requestedMode = (format, rate);
        ApplyRequestedModeIfIdle();
    }

    /// <summary>The queue may just have been freed: a requested mode waiting for that takes effect now.</summary>
    public void ApplyRequestedModeIfIdle()
    {
        if (_requestedMode is { } mode && Queue.Allocated == 0)
        {
            _requestedMode = null;
            Format = mode.Format;
            SetRate(mode.Rate);
        }
    }

    /// <summary>Back to power-on state (new driver instance), or to the host's requested mode if one waits.</summary>
    public void Reset()
    {
        Queue.Release();
        Sessions.Clear();
        Format = Menu.DefaultFormat;
        Rate = Menu.DefaultRate;
        ApplyRequestedModeIfIdle();
    }
}
