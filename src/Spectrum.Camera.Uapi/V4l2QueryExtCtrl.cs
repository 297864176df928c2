using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>
/// struct v4l2_query_ext_ctrl (232 bytes): VIDIOC_QUERY_EXT_CTRL, a control's description with 64-bit limits and its
/// element layout (1 element of elem_size bytes for a plain control).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct V4l2QueryExtCtrl
{
    public const int NameCapacity = 32;

    public uint Id;
    public uint Type;
    public fixed byte Name[NameCapacity];
    public long Minimum;
    public long Maximum;
    public ulong Step;
    public long DefaultValue;
    public uint Flags;
    public uint ElemSize;
    public uint Elems;
    public uint NrOfDims;
    public fixed uint Dims[4];
    public fixed uint Reserved[32];

    /// <summary>Writes <paramref name="name"/> into <see cref="Name"/> (truncated to 31 bytes, NUL-padded).</summary>
    public void SetName(string name)
    {
        fixed (byte* p = Name)
        {
            V4l2Text.Encode(name, p, NameCapacity);
        }
    }
}
