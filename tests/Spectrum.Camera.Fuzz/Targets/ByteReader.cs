using System.Buffers.Binary;

namespace Spectrum.Camera.Fuzz.Targets;

/// <summary>Reads fuzz input front to back; past the end every value is zero, so any input is a valid program.</summary>
internal ref struct ByteReader(ReadOnlySpan<byte> data)
{
    private ReadOnlySpan<byte> _rest = data;

    public readonly bool IsEmpty => _rest.IsEmpty;

    public readonly int Remaining => _rest.Length;

    public byte U8()
    {
        if (_rest.IsEmpty)
        {
            return 0;
        }

        var value = _rest[0];
        _rest = _rest[1..];
        return value;
    }

    public ushort U16()
    {
        if (_rest.Length < 2)
        {
            return (ushort)(U8() | (U8() << 8));
        }

        var value = BinaryPrimitives.ReadUInt16LittleEndian(_rest);
        _rest = _rest[2..];
        return value;
    }

    public uint U32() => U16() | ((uint)U16() << 16);

    /// <summary>Up to <paramref name="count"/> bytes (fewer at the end of the input).</summary>
    public ReadOnlySpan<byte> Bytes(int count)
    {
        var n = Math.Min(Math.Max(count, 0), _rest.Length);
        var value = _rest[..n];
        _rest = _rest[n..];
        return value;
    }
}

/// <summary>Builds fuzz inputs (seeds) with the same little-endian layout.</summary>
internal sealed class ByteWriter
{
    private readonly List<byte> _bytes = [];

    public ByteWriter U8(int value)
    {
        _bytes.Add((byte)value);
        return this;
    }

    public ByteWriter U16(int value) => U8(value & 0xFF).U8((value >> 8) & 0xFF);

    public ByteWriter U32(uint value) => U16((int)(value & 0xFFFF)).U16((int)(value >> 16));

    public ByteWriter U64(ulong value) => U32((uint)value).U32((uint)(value >> 32));

    public ByteWriter Bytes(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            _bytes.Add(b);
        }

        return this;
    }

    public int Length => _bytes.Count;

    public byte[] ToArray() => [.. _bytes];
}
