using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Media.Device;

/// <summary>How a capture device is set up at start; constant for the VM's lifetime.</summary>
public sealed record MediaDeviceOptions(string Card, StableMenu Menu, IFrameSource Source)
{
    public const string DefaultCard = "Spectrum Camera";

    /// <summary>
    /// Default size of shared-memory region 0: 512 MiB, room for 32 MMAP buffers of 1080p YUYV (4 MiB each) four times
    /// over, so a few sessions after one another (and buffers still mapped after REQBUFS) fit.
    /// </summary>
    public const ulong DefaultSharedMemorySize = 512UL << 20;

    /// <summary>Largest region 0 accepted: 64 GiB of guest-physical window.</summary>
    public const ulong MaxSharedMemorySize = 64UL << 30;

    /// <summary>Concurrent sessions allowed (v4l2-compliance opens 100 at once; beyond the limit OPEN gets EBUSY).</summary>
    public int SessionLimit { get; init; } = 256;

    /// <summary>
    /// Bytes of shared-memory region 0 offered to the VMM, a multiple of 64 KiB (0: none, and the device offers no
    /// SHMEM protocol feature). Also the most device-owned MMAP buffer memory the device holds at once.
    /// </summary>
    public ulong SharedMemorySize { get; init; } = DefaultSharedMemorySize;

    /// <summary>Why <paramref name="size"/> cannot be region 0's size, or null when it can.</summary>
    public static string? SharedMemorySizeProblem(ulong size) =>
        size == 0 || (size % SharedMemoryWindow.Granule == 0 && size <= MaxSharedMemorySize)
            ? null
            : $"must be 0 (no window) or a multiple of 64 KiB up to {MaxSharedMemorySize >> 30} GiB";
}
