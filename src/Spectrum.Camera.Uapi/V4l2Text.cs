using System.Text;

namespace Spectrum.Camera.Uapi;

/// <summary>The fixed-size NUL-padded text fields of the V4L2 structures (names, descriptions).</summary>
internal static unsafe class V4l2Text
{
    public static string Decode(byte* p, int capacity)
    {
        var span = new ReadOnlySpan<byte>(p, capacity);
        var end = span.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }

    /// <summary>Writes <paramref name="text"/> truncated to capacity − 1 bytes, NUL-padded to the end of the field.</summary>
    public static void Encode(string text, byte* p, int capacity)
    {
        var span = new Span<byte>(p, capacity);
        span.Clear();
        var bytes = Encoding.UTF8.GetBytes(text);
        bytes.AsSpan(0, Math.Min(bytes.Length, capacity - 1)).CopyTo(span);
    }
}
