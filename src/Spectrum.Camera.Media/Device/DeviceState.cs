using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// The device-wide capture configuration every session sees, like a V4L2 driver's: the constant menu, the current
/// format and frame interval, the one buffer queue and the open sessions.
/// </summary>
internal sealed class DeviceState
{
    public DeviceState(StableMenu menu, int sessionLimit)
    {
        Menu = menu;
        Format = menu.DefaultFormat;
        Rate = menu.DefaultRate;
        Sessions = new SessionTable(sessionLimit);
    }

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

    /// <summary>Back to power-on state (new driver instance).</summary>
    public void Reset()
    {
        Queue.Release();
        Sessions.Clear();
        Format = Menu.DefaultFormat;
        Rate = Menu.DefaultRate;
    }
}
