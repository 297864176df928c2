using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>struct virtio_media_event_header (8 bytes): the event type and the session it belongs to.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VirtioMediaEventHeader
{
    public uint Event;
    public uint SessionId;
}

/// <summary>struct virtio_media_event_error (16 bytes): the session's stream failed with a positive Linux errno.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VirtioMediaErrorEvent
{
    public VirtioMediaEventHeader Header;
    public uint Errno;
    public uint Reserved;
}

/// <summary>
/// struct virtio_media_event_dqbuf (608 bytes): a buffer is done. The v4l2_buffer follows the header, then room for
/// <see cref="VirtioMediaWire.MaxPlanes"/> struct v4l2_plane (64 bytes each), zero for a single-planar queue. Always
/// sent whole.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 608)]
public unsafe struct VirtioMediaDqbufEvent
{
    [FieldOffset(0)]
    public VirtioMediaEventHeader Header;

    [FieldOffset(8)]
    public V4l2Buffer Buffer;

    [FieldOffset(96)]
    public fixed byte Planes[VirtioMediaWire.MaxPlanes * 64];
}

/// <summary>
/// struct virtio_media_event_event (144 bytes): a V4L2 event for one session, the device's side of VIDIOC_DQEVENT (the
/// driver queues it on the session's file handle, which must have subscribed to its type and id).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 144)]
public struct VirtioMediaV4l2Event
{
    [FieldOffset(0)]
    public VirtioMediaEventHeader Header;

    [FieldOffset(8)]
    public V4l2Event Event;
}
