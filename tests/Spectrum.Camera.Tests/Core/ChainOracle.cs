using System.Buffers.Binary;
using Spectrum.Camera.TestFrontend;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// An independent statement of the split-ring chain rules (virtio 1.x §2.7.5, plus this
/// backend's documented choices: zero lengths refused, indirect tables 16-byte aligned and at most 1024 entries). Used
/// by the randomized test to predict, from the guest's memory alone, which chains the backend must accept and which
/// bytes the device may write. Written without looking at DescriptorChainWalker's arithmetic (UInt128 ranges here).
/// </summary>
internal static class ChainOracle
{
    public readonly record struct Segment(ulong Address, uint Length, bool Writable);

    /// <summary>The chain's segments in order, or null when the backend must refuse it.</summary>
    public static List<Segment>? Walk(GuestRam ram, ulong descGpa, ushort queueSize, ushort head, bool indirectAllowed)
    {
        var segments = new List<Segment>();
        var tableGpa = descGpa;
        uint tableSize = queueSize;
        uint index = head;
        var seen = 0u;
        var inIndirect = false;
        var anyWritable = false;
        UInt128 total = 0;
        if (index >= tableSize)
        {
            return null;
        }

        while (true)
        {
            seen++;
            if (seen > tableSize)
            {
                return null;
            }

            var d = ram.Span(tableGpa + (16UL * index), 16);
            var addr = BinaryPrimitives.ReadUInt64LittleEndian(d);
            var len = BinaryPrimitives.ReadUInt32LittleEndian(d[8..]);
            var flags = BinaryPrimitives.ReadUInt16LittleEndian(d[12..]);
            var next = BinaryPrimitives.ReadUInt16LittleEndian(d[14..]);
            var hasNext = (flags & GuestVirtqueue.FlagNext) != 0;

            if ((flags & GuestVirtqueue.FlagIndirect) != 0)
            {
                var entries = len / 16;
                if (!indirectAllowed || inIndirect || hasNext || len == 0 || len % 16 != 0 || entries > 1024 ||
                    addr % 16 != 0 || !InRam(ram, addr, len))
                {
                    return null;
                }

                inIndirect = true;
                tableGpa = addr;
                tableSize = entries;
                index = 0;
                seen = 0;
                continue;
            }

            var writable = (flags & GuestVirtqueue.FlagWrite) != 0;
            if (len == 0 || !InRam(ram, addr, len) || (anyWritable && !writable))
            {
                return null;
            }

            total += len;
            if (total > uint.MaxValue)
            {
                return null;
            }

            anyWritable |= writable;
            segments.Add(new Segment(addr, len, writable));
            if (!hasNext)
            {
                return segments;
            }

            if (next >= tableSize)
            {
                return null;
            }

            index = next;
        }
    }

    /// <summary>True when [addr, addr+len) lies wholly in one RAM region (the VGA hole is not RAM).</summary>
    public static bool InRam(GuestRam ram, ulong addr, ulong len)
    {
        var end = (UInt128)addr + len;
        return (addr < GuestRam.HoleStart && end <= GuestRam.HoleStart) ||
               (addr >= GuestRam.HoleEnd && end <= ram.Size);
    }
}
