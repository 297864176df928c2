using System.Runtime.InteropServices;

namespace Spectrum.Camera.Native;

// x86_64 / LP64 Linux layouts. NativeLayoutTests compares every size and offset with gcc's view of the headers.

/// <summary>struct iovec.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct IoVec
{
    public void* Base;
    public nuint Length;
}

/// <summary>struct msghdr (56 bytes on x86_64).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsgHdr
{
    public void* Name;
    public uint NameLength;
    public IoVec* Iov;
    public nuint IovLength;
    public void* Control;
    public nuint ControlLength;
    public int Flags;
}

/// <summary>struct cmsghdr header (16 bytes on x86_64); data follows at CMSG_DATA = +16.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct CmsgHdr
{
    public nuint Length;
    public int Level;
    public int Type;
}

/// <summary>struct epoll_event: packed on x86_64 (12 bytes).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct EpollEvent
{
    public uint Events;
    public ulong Data;
}

/// <summary>struct pollfd (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct PollFd
{
    public int Fd;
    public short Events;
    public short ReturnedEvents;
}

/// <summary>struct timespec.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TimeSpec
{
    public long Seconds;
    public long Nanoseconds;
}

/// <summary>struct itimerspec.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ITimerSpec
{
    public TimeSpec Interval;
    public TimeSpec Value;
}

/// <summary>struct stat (144 bytes on x86_64); only the fields the bindings read are named.</summary>
[StructLayout(LayoutKind.Explicit, Size = 144)]
internal struct StatBuffer
{
    [FieldOffset(24)]
    public uint Mode;

    [FieldOffset(48)]
    public long Size;
}

/// <summary>struct sockaddr_un (110 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SockAddrUn
{
    public const int PathCapacity = 108;
    public ushort Family;
    public fixed byte Path[PathCapacity];
}
