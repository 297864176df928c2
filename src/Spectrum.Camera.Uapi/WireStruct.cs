using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>
/// Reads and writes the blittable wire structures of this assembly from and to byte spans. The structures have the
/// little-endian 64-bit layouts of their C headers, so a read is a copy: callers copy guest bytes once, read them into
/// a structure here, and validate the structure's fields, never the bytes. A big-endian host is refused, because the
/// wire is little-endian and these copies do not swap bytes.
/// </summary>
public static class WireStruct
{
    public static int SizeOf<T>()
        where T : unmanaged => Unsafe.SizeOf<T>();

    /// <summary>Reads a <typeparamref name="T"/> from the start of <paramref name="bytes"/>; false if they are too few.</summary>
    public static bool TryRead<T>(ReadOnlySpan<byte> bytes, out T value)
        where T : unmanaged
    {
        RequireLittleEndian();
        if (bytes.Length < Unsafe.SizeOf<T>())
        {
            value = default;
            return false;
        }

        value = MemoryMarshal.Read<T>(bytes);
        return true;
    }

    /// <summary>Reads a <typeparamref name="T"/> from the start of <paramref name="bytes"/>, which must hold one.</summary>
    public static T Read<T>(ReadOnlySpan<byte> bytes)
        where T : unmanaged
    {
        RequireLittleEndian();
        return MemoryMarshal.Read<T>(bytes);
    }

    /// <summary>Writes <paramref name="value"/> to the start of <paramref name="destination"/>, which must have room.</summary>
    public static void Write<T>(Span<byte> destination, in T value)
        where T : unmanaged
    {
        RequireLittleEndian();
        MemoryMarshal.Write(destination, in value);
    }

    /// <summary>The bytes of <paramref name="value"/> in a new array.</summary>
    public static byte[] ToArray<T>(in T value)
        where T : unmanaged
    {
        var bytes = new byte[Unsafe.SizeOf<T>()];
        Write(bytes, in value);
        return bytes;
    }

    private static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("the virtio-media and V4L2 wire structures are little-endian; this host is not");
        }
    }
}
