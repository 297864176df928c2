using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Spectrum.Camera.Frames;

/// <summary>
/// The formats, sizes and rates the VM sees for its whole life. It never changes while the VM runs, whatever
/// the host camera does, because Chrome and Firefox enumerate once and cannot cope with a camera whose
/// capabilities change or vanish (Chrome's capture code has no reconnect logic). The ioctl handlers answer
/// ENUM_FMT, ENUM_FRAMESIZES, ENUM_FRAMEINTERVALS, TRY/S_FMT and S_PARM with the pure functions here.
/// </summary>
/// <remarks>
/// Every size is offered for every format and every rate for every size, all discrete: Chrome ignores stepwise
/// and continuous sizes, and Firefox keeps a probed size only when TRY_FMT returns it unchanged.
/// </remarks>
public sealed class StableMenu
{
    /// <summary>The largest width or height accepted: 8K is far past any webcam, and it keeps frames under 128 MiB.</summary>
    public const uint MaxDimension = 8192;

    /// <summary>
    /// The smallest width accepted: the test pattern encodes the frame number as 32 blocks of an even width,
    /// which needs at least 2 pixels a block.
    /// </summary>
    public const uint MinWidth = 64;

    /// <summary>The smallest height accepted: the test pattern's frame-number and marker bands take 16 rows each.</summary>
    public const uint MinHeight = 32;

    /// <summary>The fastest rate accepted; the device paces frames with a timer on one loop thread.</summary>
    public const uint MaxFramesPerSecond = 240;


    // The default menu, built from its own spec so Parse, ToString and the default can never disagree.
    private const string DefaultSpec = "formats=YUYV,NV12,YU12;sizes=320x240,640x480,1280x720,1920x1080;fps=30,15";

    // Private arrays behind the read-only views, so the lookups iterate without allocating enumerators.
    private readonly uint[] _formats;
    private readonly (uint Width, uint Height)[] _sizes;
    private readonly uint[] _framesPerSecond;
    private readonly FrameRate[] _rates;

    /// <summary>
    /// Builds a menu. <paramref name="pixelFormats"/> keeps its order (it is the ENUM_FMT index order, and the
    /// first entry is what TRY_FMT answers for an unknown fourcc). Sizes are sorted ascending by area then
    /// width, and rates fastest first, the order ENUM_FRAMESIZES and ENUM_FRAMEINTERVALS list them in.
    /// </summary>
    /// <exception cref="ArgumentException">A list is empty, has duplicates, or holds an unsupported value.</exception>
    public StableMenu(
        IEnumerable<uint> pixelFormats,
        IEnumerable<(uint Width, uint Height)> sizes,
        IEnumerable<uint> framesPerSecond)
    {
        ArgumentNullException.ThrowIfNull(pixelFormats);
        ArgumentNullException.ThrowIfNull(sizes);
        ArgumentNullException.ThrowIfNull(framesPerSecond);

        var formatArray = pixelFormats.ToArray();
        var sizeArray = sizes.ToArray();
        var fpsArray = framesPerSecond.ToArray();
        if (Validate(formatArray, sizeArray, fpsArray) is { } error)
        {
            throw new ArgumentException(error);
        }

        Array.Sort(sizeArray, (a, b) =>
        {
            var byArea = ((ulong)a.Width * a.Height).CompareTo((ulong)b.Width * b.Height);
            return byArea != 0 ? byArea : a.Width.CompareTo(b.Width);
        });
        Array.Sort(fpsArray, (a, b) => b.CompareTo(a));

        (_formats, _sizes, _framesPerSecond) = (formatArray, sizeArray, fpsArray);
        _rates = Array.ConvertAll(fpsArray, FrameRate.FromFps);
        Formats = formatArray.AsReadOnly();
        Sizes = sizeArray.AsReadOnly();
        Rates = _rates.AsReadOnly();

        // 640x480 at 30 fps is what every client can take; a custom menu without them gets the nearest entries.
        DefaultFormat = Adjust(formatArray[0], 640, 480);
        DefaultRate = SnapInterval(1, 30);
    }

    /// <summary>The default menu: YUYV, NV12, YU12 at 320x240, 640x480, 1280x720, 1920x1080 and 30, 15 fps.</summary>
    public static StableMenu Default { get; } = Parse(DefaultSpec);

    /// <summary>The fourccs in ENUM_FMT index order.</summary>
    public IReadOnlyList<uint> Formats { get; }

    /// <summary>The discrete sizes in ENUM_FRAMESIZES index order (ascending), the same for every format.</summary>
    public IReadOnlyList<(uint Width, uint Height)> Sizes { get; }

    /// <summary>The frame intervals in ENUM_FRAMEINTERVALS index order (fastest first), the same for every size.</summary>
    public IReadOnlyList<FrameRate> Rates { get; }

    /// <summary>The format a fresh device has: the first format at 640x480, or the menu size nearest to that.</summary>
    public FrameFormat DefaultFormat { get; }

    /// <summary>The rate a fresh device has: 30 fps, or the menu rate nearest to it.</summary>
    public FrameRate DefaultRate { get; }

    /// <summary>ENUM_FMT: the fourcc at <paramref name="index"/>; false past the end.</summary>
    public bool TryGetFormat(uint index, out uint pixelFormat)
    {
        pixelFormat = index < (uint)_formats.Length ? _formats[index] : 0;
        return index < (uint)_formats.Length;
    }

    /// <summary>ENUM_FRAMESIZES: the discrete size at <paramref name="index"/>; false past the end or for a fourcc not offered.</summary>
    public bool TryGetSize(uint pixelFormat, uint index, out uint width, out uint height)
    {
        (width, height) = (0, 0);
        if (!Contains(pixelFormat) || index >= (uint)_sizes.Length)
        {
            return false;
        }

        (width, height) = _sizes[index];
        return true;
    }

    /// <summary>
    /// ENUM_FRAMEINTERVALS: the interval at <paramref name="index"/>; false past the end, or for a fourcc or size
    /// the menu does not offer exactly (V4L2 drivers answer EINVAL there rather than adjusting).
    /// </summary>
    public bool TryGetInterval(uint pixelFormat, uint width, uint height, uint index, out FrameRate rate)
    {
        rate = default;
        if (!Contains(pixelFormat) || !ContainsSize(width, height) || index >= (uint)_rates.Length)
        {
            return false;
        }

        rate = _rates[index];
        return true;
    }

    /// <summary>Whether <paramref name="pixelFormat"/> is on the menu.</summary>
    public bool Contains(uint pixelFormat) => Array.IndexOf(_formats, pixelFormat) >= 0;

    /// <summary>Whether <paramref name="format"/> is exactly a menu format and size.</summary>
    public bool Contains(FrameFormat format) => Contains(format.PixelFormat) && ContainsSize(format.Width, format.Height);

    /// <summary>
    /// TRY_FMT/S_FMT: the menu format nearest to the request. Never fails, as V4L2 requires of TRY_FMT: an
    /// unknown fourcc becomes the first menu format, and the size becomes the menu size nearest in area, then in
    /// width (a menu size asked for exactly is always returned unchanged). All arithmetic is 64-bit, so probes such
    /// as 0x0, 1x1, 32768x32768 (GStreamer) and 4294967295x4294967295 cannot overflow.
    /// </summary>
    public FrameFormat Adjust(uint pixelFormat, uint width, uint height)
    {
        var format = Contains(pixelFormat) ? pixelFormat : _formats[0];
        var requestedArea = (ulong)width * height;
        var best = _sizes[0];
        var bestAreaDistance = ulong.MaxValue;
        var bestWidthDistance = uint.MaxValue;
        foreach (var size in _sizes)
        {
            var area = (ulong)size.Width * size.Height;
            var areaDistance = requestedArea > area ? requestedArea - area : area - requestedArea;
            var widthDistance = width > size.Width ? width - size.Width : size.Width - width;
            if (areaDistance < bestAreaDistance || (areaDistance == bestAreaDistance && widthDistance < bestWidthDistance))
            {
                (best, bestAreaDistance, bestWidthDistance) = (size, areaDistance, widthDistance);
            }
        }

        return new FrameFormat(format, best.Width, best.Height);
    }

    /// <summary>
    /// S_PARM: the menu rate nearest in frames per second to the requested time per frame
    /// <paramref name="numerator"/>/<paramref name="denominator"/> seconds. Never fails (Chrome treats an S_PARM
    /// failure as fatal): a fraction with a zero part, which V4L2 uses for "no preference", gives
    /// <see cref="DefaultRate"/>. Ties go to the faster rate.
    /// </summary>
    public FrameRate SnapInterval(uint numerator, uint denominator)
    {
        if (numerator == 0 || denominator == 0)
        {
            return DefaultRate;
        }

        // Requested fps is denominator/numerator; |fps - d/n| compares as |fps*n - d| because n is common to all.
        // fps <= 240 and n < 2^32, so the product fits easily in 64 bits.
        var best = 0;
        var bestDistance = ulong.MaxValue;
        for (var i = 0; i < _framesPerSecond.Length; i++)
        {
            var scaled = (ulong)_framesPerSecond[i] * numerator;
            var distance = scaled > denominator ? scaled - denominator : denominator - scaled;
            if (distance < bestDistance)
            {
                (best, bestDistance) = (i, distance);
            }
        }

        return _rates[best];
    }

    /// <summary>The menu in the <see cref="Parse"/> syntax, e.g. "formats=YUYV,NV12;sizes=640x480;fps=30,15".</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append(MenuSpecParser.FormatsKey).Append('=').AppendJoin(',', _formats.Select(PixelFormats.ToFourccString));
        text.Append(';').Append(MenuSpecParser.SizesKey).Append('=')
            .AppendJoin(',', _sizes.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Width}x{s.Height}")));
        text.Append(';').Append(MenuSpecParser.FpsKey).Append('=')
            .AppendJoin(',', _framesPerSecond.Select(f => f.ToString(CultureInfo.InvariantCulture)));
        return text.ToString();
    }

    /// <summary>
    /// Parses a command-line menu spec (<c>spectrum-camera serve --menu</c>):
    /// <c>formats=YUYV,NV12,YU12;sizes=320x240,640x480;fps=30,15</c>. Sections are separated by ';', values by
    /// ','; keys are case-insensitive and whitespace around items is ignored. A section left out keeps the
    /// default menu's list, so "sizes=1280x720" alone is a valid spec.
    /// </summary>
    /// <exception cref="FormatException">The spec is malformed or describes an invalid menu; the message says why.</exception>
    public static StableMenu Parse(string spec)
    {
        if (!TryParse(spec, out var menu, out var error))
        {
            throw new FormatException(error);
        }

        return menu;
    }

    /// <summary>Like <see cref="Parse"/>, but returns the error message instead of throwing.</summary>
    public static bool TryParse(
        string? spec,
        [NotNullWhen(true)] out StableMenu? menu,
        [NotNullWhen(false)] out string? error)
    {
        menu = null;
        error = MenuSpecParser.TryParseSections(spec, out var formats, out var sizes, out var fps);
        if (error is not null)
        {
            error = $"Invalid menu spec \"{spec}\": {error}";
            return false;
        }

        // The default menu itself comes through here with every section given, so the fallback to Default
        // only happens for specs that leave a section out.
        formats ??= [.. Default._formats];
        sizes ??= [.. Default._sizes];
        fps ??= [.. Default._framesPerSecond];
        if (Validate(formats, sizes, fps) is { } invalid)
        {
            error = $"Invalid menu spec \"{spec}\": {invalid}";
            return false;
        }

        menu = new StableMenu(formats, sizes, fps);
        return true;
    }

    private bool ContainsSize(uint width, uint height) => Array.IndexOf(_sizes, (width, height)) >= 0;

    internal static string SupportedList() => string.Join(", ", PixelFormats.Supported.Select(PixelFormats.ToFourccString));

    // One place for the rules, so the constructor (ArgumentException) and Parse (FormatException) say the same thing.
    private static string? Validate(uint[] formats, (uint Width, uint Height)[] sizes, uint[] fps)
    {
        if (formats.Length == 0 || sizes.Length == 0 || fps.Length == 0)
        {
            return "the menu needs at least one format, one size and one frame rate.";
        }

        foreach (var format in formats)
        {
            if (!PixelFormats.IsSupported(format))
            {
                return $"pixel format \"{PixelFormats.ToFourccString(format)}\" is not supported (supported: {SupportedList()}).";
            }
        }

        if (FirstDuplicate(formats) is { } repeatedFormat)
        {
            return $"pixel format \"{PixelFormats.ToFourccString(repeatedFormat)}\" is listed more than once.";
        }

        foreach (var (width, height) in sizes)
        {
            if (width % 2 != 0 || height % 2 != 0)
            {
                return $"size {width}x{height} must have an even width and height (4:2:2 and 4:2:0 chroma covers pixel pairs).";
            }

            if (width is < MinWidth or > MaxDimension || height is < MinHeight or > MaxDimension)
            {
                return $"size {width}x{height} is outside {MinWidth}x{MinHeight} to {MaxDimension}x{MaxDimension}.";
            }
        }

        if (FirstDuplicate(sizes) is { } size)
        {
            return $"size {size.Width}x{size.Height} is listed more than once.";
        }

        foreach (var rate in fps)
        {
            if (rate is 0 or > MaxFramesPerSecond)
            {
                return $"frame rate {rate} fps is outside 1 to {MaxFramesPerSecond}.";
            }
        }

        if (FirstDuplicate(fps) is { } repeated)
        {
            return $"frame rate {repeated} fps is listed more than once.";
        }

        return null;
    }

    private static T? FirstDuplicate<T>(T[] items)
        where T : struct
    {
        var seen = new HashSet<T>();
        foreach (var item in items)
        {
            if (!seen.Add(item))
            {
                return item;
            }
        }

        return null;
    }
}
