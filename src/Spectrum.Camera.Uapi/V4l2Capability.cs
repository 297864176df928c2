using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>struct v4l2_capability (104 bytes): VIDIOC_QUERYCAP.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct V4l2Capability
{
    public fixed byte Driver[16];
    public fixed byte Card[32];
    public fixed byte BusInfo[32];
    public uint Version;
    public uint Capabilities;
    public uint DeviceCaps;
    public fixed uint Reserved[3];

    public readonly string DriverName
    {
        get
        {
            fixed (byte* p = Driver)
            {
                return V4l2Text.Decode(p, 16);
            }
        }
    }

    public readonly string CardName
    {
        get
        {
            fixed (byte* p = Card)
            {
                return V4l2Text.Decode(p, 32);
            }
        }
    }

    public readonly string Bus
    {
        get
        {
            fixed (byte* p = BusInfo)
            {
                return V4l2Text.Decode(p, 32);
            }
        }
    }

    /// <summary>The capabilities of this node: device_caps when the driver fills it (V4L2_CAP_DEVICE_CAPS), else the whole device's.</summary>
    public readonly uint NodeCapabilities => (Capabilities & V4l2.CapDeviceCaps) != 0 ? DeviceCaps : Capabilities;

    /// <summary>A capability answer with the given texts (what a driver fills in).</summary>
    public static V4l2Capability Create(string driver, string card, string bus, uint capabilities, uint deviceCaps)
    {
        var c = default(V4l2Capability);
        V4l2Text.Encode(driver, c.Driver, 16);
        V4l2Text.Encode(card, c.Card, 32);
        V4l2Text.Encode(bus, c.BusInfo, 32);
        c.Capabilities = capabilities;
        c.DeviceCaps = deviceCaps;
        return c;
    }
}
