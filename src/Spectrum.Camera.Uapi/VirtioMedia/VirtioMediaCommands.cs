using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

// The commandq structures: every command starts with a command header, every response with a response header. A
// chain's readable part carries the command (then, for IOCTL, the V4L2 payload and any SG entries); its writable part
// receives the response (then, for IOCTL, the V4L2 payload). CLOSE has no response part.

/// <summary>struct virtio_media_cmd_header (8 bytes); OPEN is this header alone.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VirtioMediaCommandHeader
{
    public uint Command;
    public uint Reserved;
}

/// <summary>struct virtio_media_resp_header (8 bytes): status 0 or a positive Linux errno.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VirtioMediaResponseHeader
{
    public uint Status;
    public uint Reserved;
}

/// <summary>struct virtio_media_cmd_close (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VirtioMediaCloseCommand
{
    public VirtioMediaCommandHeader Header;
    public uint SessionId;
    public uint Reserved;
}

/// <summary>struct virtio_media_cmd_ioctl (16 bytes), followed by the ioctl's payload.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VirtioMediaIoctlCommand
{
    public VirtioMediaCommandHeader Header;
    public uint SessionId;

    /// <summary>_IOC_NR of the VIDIOC_* ioctl.</summary>
    public uint Code;
}

/// <summary>struct virtio_media_resp_open (16 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VirtioMediaOpenResponse
{
    public VirtioMediaResponseHeader Header;
    public uint SessionId;
    public uint Reserved;
}

/// <summary>
/// struct virtio_media_sg_entry (16 bytes): one guest-physical range of a USERPTR ("shared pages") buffer. The list
/// follows the v4l2_buffer in the readable part of PREPARE_BUF and QBUF.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct VirtioMediaSgEntry
{
    public ulong Start;
    public uint Length;
    public uint Reserved;
}

/// <summary>
/// struct virtio_media_cmd_mmap (20 bytes, virtio 1.4 §5.22): map the MMAP buffer plane at <see cref="Offset"/> (its
/// QUERYBUF mem_offset) into shared-memory region 0; flags bit 0 asks for a writable mapping.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct VirtioMediaMmapCommand
{
    public VirtioMediaCommandHeader Header;
    public uint SessionId;
    public uint Flags;
    public uint Offset;
}

/// <summary>struct virtio_media_resp_mmap (24 bytes): where in shared-memory region 0 the buffer now lives, and its length.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VirtioMediaMmapResponse
{
    public VirtioMediaResponseHeader Header;
    public ulong DriverAddress;
    public ulong Length;
}

/// <summary>struct virtio_media_cmd_munmap (16 bytes): unmap what MMAP mapped at <see cref="DriverAddress"/>.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct VirtioMediaMunmapCommand
{
    public VirtioMediaCommandHeader Header;
    public ulong DriverAddress;
}
