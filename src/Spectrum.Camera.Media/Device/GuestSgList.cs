using Spectrum.Camera.Uapi;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// Parses and validates the guest SG list that follows a USERPTR buffer: virtio_media_sg_entry structures are read
/// until their lengths cover the buffer length. Every entry must be non-empty, have zero reserved bits, lie entirely
/// in guest RAM, and not overlap the command's own descriptors (a frame written there would overwrite the request or
/// response); the running sum is 64-bit and bounded. The stored ranges sum to exactly the buffer length.
/// </summary>
/// <remarks>
/// Entries that continue the previous one exactly (the next byte of guest-physical memory, in the same guest RAM
/// region) are coalesced into one stored range once each has passed the checks above: a guest that hands over
/// contiguous runs of pages then costs one copy per run on every frame, not one per page. Only exact continuations
/// merge, so the stored ranges cover precisely the bytes the guest gave, in its order; overlapping, repeated or
/// out-of-order entries stay separate ranges. The entry limit counts the guest's entries, not the merged ranges.
/// </remarks>
internal static class GuestSgList
{
    /// <summary>Most entries accepted for one buffer: a 64 MiB buffer in scattered 4 KiB pages.</summary>
    public const int MaxEntries = 16384;

    /// <summary>Largest buffer accepted: 1920x1080 YUYV needs 4 MiB; 64 MiB leaves room for any menu.</summary>
    public const uint MaxBufferLength = 64u << 20;

    private static readonly int EntrySize = WireStruct.SizeOf<VirtioMediaSgEntry>();

    public static Errno TryParse(ReadOnlySpan<byte> entries, uint length, GuestMemory memory, ReadOnlySpan<GuestRange> commandSegments,
        QueueBuffer into, out string? problem)
    {
        problem = null;
        if (length == 0 || length > MaxBufferLength)
        {
            problem = $"buffer length {length} is not in 1..{MaxBufferLength}";
            return Errno.EINVAL;
        }

        ulong covered = 0;
        var count = 0;
        var stored = 0;
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

            covered += used;
            count++;
            if (stored > 0 && TryExtend(ref ranges[stored - 1], entry.Start, used, memory))
            {
                continue;
            }

            if (stored == ranges.Length)
            {
                Array.Resize(ref ranges, Math.Min(ranges.Length * 2, MaxEntries));
            }

            ranges[stored++] = new GuestRange(entry.Start, used);
        }

        into.Ranges = ranges;
        into.RangeCount = stored;
        into.Length = length;
        return Errno.None;
    }

    /// <summary>
    /// Appends [start, start+length) to <paramref name="previous"/> when it begins exactly where the previous range
    /// ends and the joined range is still in one guest RAM region (two regions adjacent in guest-physical addresses
    /// are separate host mappings). Both ranges were validated already; no end address is computed, so a range that
    /// ends at the top of the address space cannot wrap around to one at address 0.
    /// </summary>
    private static bool TryExtend(ref GuestRange previous, ulong start, uint length, GuestMemory memory)
    {
        if (start < previous.Address || start - previous.Address != previous.Length || length > uint.MaxValue - previous.Length)
        {
            return false;
        }

        var joined = previous.Length + length;
        if (!memory.Contains(previous.Address, joined))
        {
            return false;
        }

        previous = new GuestRange(previous.Address, joined);
        return true;
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
