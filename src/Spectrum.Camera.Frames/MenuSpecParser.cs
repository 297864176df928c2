using System.Globalization;

namespace Spectrum.Camera.Frames;

/// <summary>
/// Reads the sections of a menu spec (<c>formats=YUYV,NV12;sizes=640x480;fps=30,15</c>, the syntax of
/// <c>spectrum-camera serve --menu</c>) into lists. Only the syntax is checked here; whether the lists make a valid
/// menu is <see cref="StableMenu"/>'s rule, so the constructor and the parser say the same thing.
/// </summary>
internal static class MenuSpecParser
{
    public const string FormatsKey = "formats";
    public const string SizesKey = "sizes";
    public const string FpsKey = "fps";

    /// <summary>The lists the spec gives (null for a section left out), or an error message.</summary>
    public static string? TryParseSections(
        string? spec,
        out uint[]? formats,
        out (uint Width, uint Height)[]? sizes,
        out uint[]? fps)
    {
        (formats, sizes, fps) = (null, null, null);
        if (string.IsNullOrWhiteSpace(spec))
        {
            return "the spec is empty (expected e.g. \"" + StableMenu.Default + "\").";
        }

        foreach (var rawSection in spec.Split(';'))
        {
            var section = rawSection.Trim();
            if (section.Length == 0)
            {
                continue; // Tolerate "a;;b" and a trailing ';'.
            }

            var equals = section.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0)
            {
                return $"section \"{section}\" is not key=value (keys: {FormatsKey}, {SizesKey}, {FpsKey}).";
            }

            var key = section[..equals].Trim();
            var items = section[(equals + 1)..].Split(',', StringSplitOptions.TrimEntries);
            if (items.Any(item => item.Length == 0))
            {
                return $"section \"{key}\" has an empty value (\"{section}\").";
            }

            string? error;
            if (key.Equals(FormatsKey, StringComparison.OrdinalIgnoreCase))
            {
                error = formats is null ? ParseFormats(items, out formats) : Repeated(key);
            }
            else if (key.Equals(SizesKey, StringComparison.OrdinalIgnoreCase))
            {
                error = sizes is null ? ParseSizes(items, out sizes) : Repeated(key);
            }
            else if (key.Equals(FpsKey, StringComparison.OrdinalIgnoreCase))
            {
                error = fps is null ? ParseFps(items, out fps) : Repeated(key);
            }
            else
            {
                error = $"unknown key \"{key}\" (keys: {FormatsKey}, {SizesKey}, {FpsKey}).";
            }

            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    private static string Repeated(string key) => $"section \"{key}\" is given more than once.";

    private static string? ParseFormats(string[] items, out uint[]? formats)
    {
        formats = new uint[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            if (!PixelFormats.TryParseFourcc(items[i], out formats[i]) || !PixelFormats.IsSupported(formats[i]))
            {
                return $"\"{items[i]}\" is not a supported pixel format (supported: {StableMenu.SupportedList()}).";
            }
        }

        return null;
    }

    private static string? ParseSizes(string[] items, out (uint Width, uint Height)[]? sizes)
    {
        sizes = new (uint, uint)[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            var x = items[i].IndexOfAny(['x', 'X']);
            if (x < 0
                || !TryParseUInt(items[i].AsSpan(0, x), out var width)
                || !TryParseUInt(items[i].AsSpan(x + 1), out var height))
            {
                return $"size \"{items[i]}\" is not WIDTHxHEIGHT (e.g. 640x480).";
            }

            sizes[i] = (width, height);
        }

        return null;
    }

    private static string? ParseFps(string[] items, out uint[]? fps)
    {
        fps = new uint[items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            if (!TryParseUInt(items[i], out fps[i]))
            {
                return $"frame rate \"{items[i]}\" is not a whole number of frames per second.";
            }
        }

        return null;
    }

    private static bool TryParseUInt(ReadOnlySpan<char> text, out uint value) =>
        uint.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
