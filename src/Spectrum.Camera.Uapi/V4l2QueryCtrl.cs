using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>struct v4l2_queryctrl (68 bytes): VIDIOC_QUERYCTRL, a control's description with 32-bit limits.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct V4l2QueryCtrl
{
    public uint Id;
    public uint Type;
    public fixed byte Name[V4l2QueryExtCtrl.NameCapacity];
    public int Minimum;
    public int Maximum;
    public int Step;
    public int DefaultValue;
    public uint Flags;
    public fixed uint Reserved[2];

    /// <summary>Writes <paramref name="name"/> into <see cref="Name"/> (truncated to 31 bytes, NUL-padded).</summary>
    public void SetName(string name)
    {
        fixed (byte* p = Name)
        {
            V4l2Text.Encode(name, p, V4l2QueryExtCtrl.NameCapacity);
        }
    }
}
