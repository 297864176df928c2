using System.Buffers.Binary;

namespace Spectrum.Camera.Media.Protocol;

/// <summary>Little-endian field access at explicit offsets: every wire struct is read and written through these.</summary>
internal static class Le
{
    public static uint U32(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(s[offset..]);

    public static ulong U64(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(s[offset..]);

    public static void Put(Span<byte> s, int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(s[offset..], value);

    public static void Put64(Span<byte> s, int offset, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(s[offset..], value);
}
