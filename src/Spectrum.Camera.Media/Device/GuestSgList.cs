using Spectrum.Camera.Media.Protocol;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// Parses and validates the guest SG list that follows a USERPTR buffer (virtio-media.md §4.3): entries are read until
/// their lengths cover the buffer length. Every entry must be non-empty, have zero reserved bits, lie entirely in guest
/// RAM, and not overlap the command's own descriptors (a frame written there would overwrite the request or response);
/// the running sum is 64-bit and bounded. The stored ranges sum to exactly the buffer length.
/// </summary>
internal static class GuestSgList
{
    /// <summary>Most entries accepted for one buffer: a 64 MiB buffer in scattered 4 KiB pages.</summary>
    public const int MaxEntries = 16384;

    /// <summary>Largest buffer accepted: 1920x1080 YUYV needs 4 MiB; 64 MiB leaves room for any menu.</summary>
    public const uint MaxBufferLength = 64u << 20;

    public static Errno TryParse(ReadOnlySpan<byte> entries, uint length, GuestMemory memory, DescriptorChain chain,
        CaptureBuffer into, out string? problem)
    {
        problem = null;
        if (length == 0 || length > MaxBufferLength)
        {
            problem = $"buffer length {length} is not in 1..{MaxBufferLength}";
            return Errno.EINVAL;
        }

        ulong covered = 0;
        var count = 0;
        var ranges = into.Ranges;
        for (var offset = 0; covered < length; offset += VirtioMediaWire.SgEntrySize)
        {
            if (count == MaxEntries)
            {
                problem = $"SG list needs more than {MaxEntries} entries";
                return Errno.EINVAL;
            }

            if (offset > entries.Length - VirtioMediaWire.SgEntrySize)
            {
                problem = $"SG list ends after {count} entries covering {covered} of {length} bytes";
                return Errno.EINVAL;
            }

            var start = Le.U64(entries, offset);
            var len = Le.U32(entries, offset + 8);
            if (len == 0 || Le.U32(entries, offset + 12) != 0)
            {
                problem = $"SG entry {count} has length 0 or non-zero reserved bits";
                return Errno.EINVAL;
            }

            // Only the part that covers the buffer is kept, so the stored list sums to exactly `length`.
            var used = (uint)Math.Min(len, length - covered);
            if (!memory.Contains(start, used))
            {
                problem = $"SG entry {count} [0x{start:x}, +{used}) is not in guest RAM";
                return Errno.EFAULT;
            }

            if (OverlapsChain(start, used, chain))
            {
                problem = $"SG entry {count} [0x{start:x}, +{used}) overlaps the command's own descriptors";
                return Errno.EFAULT;
            }

            if (count == ranges.Length)
            {
                Array.Resize(ref ranges, Math.Min(ranges.Length * 2, MaxEntries));
            }

            ranges[count++] = new GuestRange(start, used);
            covered += used;
        }

        into.Ranges = ranges;
        into.RangeCount = count;
        into.Length = length;
        return Errno.None;
    }

    private static bool OverlapsChain(ulong start, uint length, DescriptorChain chain)
    {
        foreach (var segment in chain.Segments)
        {
            // Two non-empty ranges overlap iff each starts before the other ends (no end is computed: no overflow).
            if (start - segment.Address < segment.Length || segment.Address - start < length)
            {
                return true;
            }
        }

        return false;
    }
}
