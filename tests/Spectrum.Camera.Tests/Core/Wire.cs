using System.Buffers.Binary;
using Spectrum.Camera.TestFrontend;

namespace Spectrum.Camera.Tests.Core;

/// <summary>Builds vhost-user payloads and split-ring descriptors byte by byte, as a VMM or guest driver lays them out.</summary>
internal static class Wire
{
    public static byte[] U64(ulong value)
    {
        var p = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(p, value);
        return p;
    }

    /// <summary>A vring state payload: u32 index, u32 num.</summary>
    public static byte[] VringState(uint index, uint num)
    {
        var p = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(p, index);
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(4), num);
        return p;
    }

    /// <summary>A SET_MEM_TABLE payload: u32 count, u32 padding, then (gpa, size, user address, mmap offset) per region.</summary>
    public static byte[] MemTable(params (ulong Gpa, ulong Size, ulong Uva, ulong Offset)[] regions)
    {
        var p = new byte[8 + (32 * regions.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(p, (uint)regions.Length);
        for (var i = 0; i < regions.Length; i++)
        {
            var r = p.AsSpan(8 + (32 * i));
            BinaryPrimitives.WriteUInt64LittleEndian(r, regions[i].Gpa);
            BinaryPrimitives.WriteUInt64LittleEndian(r[8..], regions[i].Size);
            BinaryPrimitives.WriteUInt64LittleEndian(r[16..], regions[i].Uva);
            BinaryPrimitives.WriteUInt64LittleEndian(r[24..], regions[i].Offset);
        }

        return p;
    }

    /// <summary>The memory table QEMU sends for <paramref name="ram"/>.</summary>
    public static byte[] MemTable(GuestRam ram) =>
        MemTable([.. ram.Regions.Select(r => (r.GuestPhysicalAddress, r.Size, r.UserAddress, r.MmapOffset))]);

    /// <summary>Writes one 16-byte descriptor at <paramref name="gpa"/> (an indirect table entry).</summary>
    public static void Descriptor(GuestRam ram, ulong gpa, ulong addr, uint len, int flags, ushort next)
    {
        var d = ram.Span(gpa, 16);
        BinaryPrimitives.WriteUInt64LittleEndian(d, addr);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], len);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], (ushort)flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
    }

    /// <summary>Writes an indirect table of <paramref name="entries"/> into a fresh, canary-allowed guest buffer.</summary>
    public static ulong IndirectTable(CoreSession s, params (ulong Addr, uint Len, int Flags, ushort Next)[] entries)
    {
        ArgumentNullException.ThrowIfNull(s);
        var table = s.Canary.Buffer(16UL * (ulong)entries.Length);
        for (var i = 0; i < entries.Length; i++)
        {
            Descriptor(s.Ram, table + (16UL * (ulong)i), entries[i].Addr, entries[i].Len, entries[i].Flags, entries[i].Next);
        }

        return table;
    }
}
