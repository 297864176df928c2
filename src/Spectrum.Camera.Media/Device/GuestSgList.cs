using Spectrum.Camera.Uapi;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// Parses and validates the guest SG list that follows a USERPTR buffer: virtio_media_sg_entry structures are read
/// until their lengths cover the buffer length. Every entry must be non-empty, have zero reserved bits, lie entirely
/// in guest RAM, and not overlap the command's own descriptors (a frame written there would overwrite the request or
/// response); the running sum is 64-bit and bounded. The stored ranges sum to exactly the buffer length.
/// </summary>
internal static class GuestSgList
{
    /// <summary>Most entries accepted for one buffer: a 64 MiB buffer in scattered 4 KiB pages.</summary>
    public const int MaxEntries = 16384;

    /// <summary>Largest buffer accepted: 1920x1080 YUYV needs 4 MiB; 64 MiB leaves room for any menu.</summary>
    public const uint MaxBufferLength = 64u << 20;

    private static readonly int EntrySize = WireStruct.SizeOf<VirtioMediaSgEntry>();

    public static Errno TryParse(ReadOnlySpan<byte> entries, uint length, GuestMemory memory, ReadOnlySpan<GuestRange> commandSegments,
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
        while (covered < length)
        {
            if (count == MaxEntries)
            {
                problem = $"SG list needs more than {MaxEntries} entries";
                return Errno.EINVAL;
            }

            if (!WireStruct.TryRead(entries[Math.Min(entries.Length, count * EntrySize)..], out VirtioMediaSgEntry entry))
            {
                problem = $"SG list ends after {count} entries covering {covered} of {length} bytes";
                return Errno.EINVAL;
            }

            if (entry.Length == 0 || entry.Reserved != 0)
            {
                problem = $"SG entry {count} has length 0 or non-zero reserved bits";
                return Errno.EINVAL;
            }

            // Only the part that covers the buffer is kept, so the stored list sums to exactly `length`.
            var used = (uint)Math.Min(entry.Length, length - covered);
            if (!memory.Contains(entry.Start, used))
            {
                problem = $"SG entry {count} [0x{entry.Start:x}, +{used}) is not in guest RAM";
                return Errno.EFAULT;
            }

            if (Overlaps(entry.Start, used, commandSegments))
            {
                problem = $"SG entry {count} [0x{entry.Start:x}, +{used}) overlaps the command's own descriptors";
                return Errno.EFAULT;
            }

            if (count == ranges.Length)
            {
                Array.Resize(ref ranges, Math.Min(ranges.Length * 2, MaxEntries));
            }

            ranges[count++] = new GuestRange(entry.Start, used);
            covered += used;
        }

        into.Ranges = ranges;
        into.RangeCount = count;
        into.Length = length;
        return Errno.None;
    }

    private static bool Overlaps(ulong start, uint length, ReadOnlySpan<GuestRange> segments)
    {
        foreach (var segment in segments)
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
