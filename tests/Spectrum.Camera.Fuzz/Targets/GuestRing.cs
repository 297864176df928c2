using System.Buffers.Binary;

namespace Spectrum.Camera.Fuzz.Targets;

/// <summary>The driver's side of a split ring in a byte image of guest RAM (gpa = offset): writes descriptors and the avail ring.</summary>
internal sealed unsafe class GuestRing(byte* ram, ulong desc, ulong avail, ulong used, ushort size)
{
    private ushort _nextDescriptor;
    private ushort _availIndex;

    public ulong Desc => desc;

    public ulong Avail => avail;

    public ulong Used => used;

    public ushort Size => size;

    public ushort FreeDescriptors => (ushort)(size - _nextDescriptor);

    public ushort UsedIndex => BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(ram + used + 2, 2));

    public void Reset()
    {
        _nextDescriptor = 0;
        _availIndex = 0;
        new Span<byte>(ram + desc, 16 * size).Clear();
        new Span<byte>(ram + avail, 6 + (2 * size)).Clear();
        new Span<byte>(ram + used, 6 + (8 * size)).Clear();
    }

    /// <summary>Writes one descriptor into table <paramref name="table"/> (the ring's own or an indirect one).</summary>
    public static void Descriptor(byte* ram, ulong table, int index, ulong addr, uint len, ushort flags, ushort next)
    {
        var d = new Span<byte>(ram + table + (ulong)(16 * index), 16);
        BinaryPrimitives.WriteUInt64LittleEndian(d, addr);
        BinaryPrimitives.WriteUInt32LittleEndian(d[8..], len);
        BinaryPrimitives.WriteUInt16LittleEndian(d[12..], flags);
        BinaryPrimitives.WriteUInt16LittleEndian(d[14..], next);
    }

    /// <summary>Adds a chain of (gpa, length, writable) segments; returns its head or -1 when the table is full.</summary>
    public int AddChain(ReadOnlySpan<(ulong Gpa, uint Length, bool Writable)> segments)
    {
        if (segments.Length == 0 || segments.Length > FreeDescriptors)
        {
            return -1;
        }

        var head = _nextDescriptor;
        for (var i = 0; i < segments.Length; i++)
        {
            var last = i == segments.Length - 1;
            var flags = (ushort)((last ? 0 : 1) | (segments[i].Writable ? 2 : 0));
            Descriptor(ram, desc, _nextDescriptor, segments[i].Gpa, segments[i].Length, flags, (ushort)(_nextDescriptor + 1));
            _nextDescriptor++;
        }

        Publish(head);
        return head;
    }

    /// <summary>Adds one INDIRECT descriptor pointing at a table the caller wrote; returns its head or -1.</summary>
    public int AddIndirect(ulong table, int entries)
    {
        if (FreeDescriptors == 0)
        {
            return -1;
        }

        var head = _nextDescriptor++;
        Descriptor(ram, desc, head, table, (uint)(16 * entries), 4, 0);
        Publish(head);
        return head;
    }

    private void Publish(ushort head)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(new Span<byte>(ram + avail + 4 + (2 * (_availIndex % size)), 2), head);
        _availIndex++;
        BinaryPrimitives.WriteUInt16LittleEndian(new Span<byte>(ram + avail + 2, 2), _availIndex);
    }
}
