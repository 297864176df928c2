using System.Text;

namespace Spectrum.Camera.Native;

/// <summary>Strings as the NUL-terminated UTF-8 that libc takes (Tmds.LibC's calls take a <c>byte*</c>).</summary>
internal static class CString
{
    /// <summary>
    /// <paramref name="value"/> in UTF-8 followed by a NUL. A value that contains a NUL is refused: C would silently
    /// cut the path or name there.
    /// </summary>
    internal static byte[] Of(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"a path or name for a system call cannot contain NUL: {value.Replace("\0", "\\0", StringComparison.Ordinal)}", nameof(value));
        }

        var bytes = new byte[Encoding.UTF8.GetByteCount(value) + 1];
        Encoding.UTF8.GetBytes(value, bytes);
        return bytes;
    }
}
