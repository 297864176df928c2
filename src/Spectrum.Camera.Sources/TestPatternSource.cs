using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Sources;

/// <summary>
/// A moving, self-identifying test pattern in YUYV, NV12 and YU12 (BT.601 limited range).
/// </summary>
/// <remarks>
/// <para>Layout, top to bottom (when the frame is at least 64x32, which every menu size is):</para>
/// <list type="bullet">
/// <item>Rows 0-15, the number band: the frame number as 32 blocks, most significant bit first, each
/// <c>(width / 32)</c> rounded down to even pixels wide; luma 235 for a 1 and 16 for a 0, chroma neutral.
/// Whole 2x2 blocks of one value survive 4:2:0 subsampling, so the number reads the same in every format,
/// and from a raw file written by any client.</item>
/// <item>Rows 16-31, the marker band: <see cref="Marker"/> as 16 blocks twice as wide, so a test-pattern frame
/// can be told apart from black, from a real camera frame, and from garbage.</item>
/// <item>Any pixels right of the 32 blocks, in both bands, are luma 16.</item>
/// <item>The rest: a luma ramp under eight colour bars, shifted one pixel pair left per frame and one pair per
/// row pair, so it moves diagonally and a frozen or repeated frame is visible to the eye.</item>
/// </list>
/// <para>
/// Speed: the device renders on its loop thread at up to 1920x1080 and 30 fps, so nothing is computed per pixel
/// per frame. Every moving row is a slice of a precomputed periodic "ramp" (one period plus a row), written to
/// the sink directly; the band rows are precomputed or built with a few block copies. The arrays are allocated
/// when the format changes (the first frame, or after S_FMT), never per frame.
/// </para>
/// <para>Not thread-safe: one instance serves one device loop.</para>
/// </remarks>
public sealed class TestPatternSource : IFrameSource
{
    /// <summary>The 16-bit marker in rows 16-31: "SC" for Spectrum Camera, with both 0 and 1 bits in each byte.</summary>
    public const ushort Marker = 0x5343;

    /// <summary>Rows in each of the two bands.</summary>
    public const int BandRows = 16;

    /// <summary>Blocks in the number band (one a bit of the frame number).</summary>
    public const int NumberBits = 32;

    /// <summary>Blocks in the marker band.</summary>
    public const int MarkerBits = 16;

    /// <summary>Luma of a 1 bit: BT.601 limited-range white.</summary>
    public const byte LumaOne = 235;

    /// <summary>Luma of a 0 bit: BT.601 limited-range black.</summary>
    public const byte LumaZero = 16;

    private const byte NeutralChroma = 128;

    // The moving area repeats every PeriodPairs pixel pairs (256 pixels); a power of two of bars fits it evenly.
    private const int PeriodPairs = 128;

    // Cb, Cr of the 75% BT.601 colour bars (white, yellow, cyan, green, magenta, red, blue, black).
    private static readonly (byte Cb, byte Cr)[] Bars =
        [(128, 128), (44, 142), (156, 44), (72, 58), (184, 198), (100, 212), (212, 114), (128, 128)];

    private FrameFormat _format;
    private byte[] _lumaRamp = [];      // YUYV: packed Y,Cb,Y,Cr; NV12/YU12: Y.
    private byte[] _chromaRamp0 = [];   // NV12: interleaved Cb,Cr; YU12: Cb.
    private byte[] _chromaRamp1 = [];   // YU12: Cr.
    private byte[] _zeroRow = [];       // A band row of all 0 bits, in the first plane's layout.
    private byte[] _oneRow = [];        // A band row of all 1 bits.
    private byte[] _markerRow = [];
    private byte[] _numberRow = [];     // Rebuilt for every frame from _zeroRow and _oneRow.
    private byte[] _neutralChromaRow = [];

    /// <inheritdoc />
    public string Name => "test-pattern";

    /// <summary>Whether <paramref name="format"/> is large enough to carry the number and marker bands.</summary>
    public static bool HasBands(FrameFormat format) =>
        format.Width >= StableMenu.MinWidth && format.Height >= StableMenu.MinHeight;

    /// <summary>The width in pixels of one number-band block: width / 32, rounded down to even.</summary>
    public static int BlockWidth(FrameFormat format) => (int)(format.Width / NumberBits) & ~1;

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="format"/> is not <see cref="FrameFormat.IsValid"/>.</exception>
    public FrameContent Render(FrameFormat format, uint frameNumber, IFrameSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        if (format != _format)
        {
            Prepare(format);
        }

        var shift = (int)(frameNumber % PeriodPairs);
        var bands = HasBands(format);
        var packed = format.PixelFormat == PixelFormats.Yuyv;

        // First plane: YUYV's only plane, or the Y plane.
        var firstMovingRow = 0;
        if (bands)
        {
            var blockBytes = BlockWidth(format) * (packed ? 2 : 1);
            EncodeBits(_numberRow, _zeroRow, _oneRow, frameNumber, NumberBits, blockBytes);
            for (var y = 0; y < BandRows; y++)
            {
                sink.Write(_numberRow);
            }

            for (var y = 0; y < BandRows; y++)
            {
                sink.Write(_markerRow);
            }

            firstMovingRow = 2 * BandRows;
        }

        WriteMovingRows(sink, _lumaRamp, packed ? 4 : 2, (int)format.BytesPerLine, firstMovingRow, (int)format.Height, shift, 1);

        // Chroma planes: chroma row c covers luma rows 2c and 2c+1, so the bands are the first BandRows rows.
        var chromaRows = (int)format.Height / 2;
        var firstMovingChromaRow = bands ? BandRows : 0;
        if (format.PixelFormat == PixelFormats.Nv12)
        {
            WriteChromaPlane(sink, _chromaRamp0, 2, (int)format.PlaneBytesPerLine(1), firstMovingChromaRow, chromaRows, shift);
        }
        else if (format.PixelFormat == PixelFormats.Yu12)
        {
            var rowBytes = (int)format.PlaneBytesPerLine(1);
            WriteChromaPlane(sink, _chromaRamp0, 1, rowBytes, firstMovingChromaRow, chromaRows, shift);
            WriteChromaPlane(sink, _chromaRamp1, 1, rowBytes, firstMovingChromaRow, chromaRows, shift);
        }

        return FrameContent.TestPattern;
    }

    private void WriteChromaPlane(
        IFrameSink sink, byte[] ramp, int bytesPerPair, int rowBytes, int firstMovingRow, int rows, int shift)
    {
        var neutral = _neutralChromaRow.AsSpan(0, rowBytes);
        for (var row = 0; row < firstMovingRow; row++)
        {
            sink.Write(neutral);
        }

        WriteMovingRows(sink, ramp, bytesPerPair, rowBytes, firstMovingRow, rows, shift, 2);
    }

    // Row `row` of a plane whose rows each cover `lumaRowsPerRow` luma rows shows the pattern from pair
    // (row pair + frame shift) mod period: the same pair offset for a chroma row and the two luma rows it covers.
    private static void WriteMovingRows(
        IFrameSink sink, byte[] ramp, int bytesPerPair, int rowBytes, int firstRow, int rows, int shift, int lumaRowsPerRow)
    {
        for (var row = firstRow; row < rows; row++)
        {
            var rowPair = row * lumaRowsPerRow / 2;
            var offset = (rowPair + shift) % PeriodPairs;
            sink.Write(ramp.AsSpan(offset * bytesPerPair, rowBytes));
        }
    }

    // Writes `value`'s low `bits` bits into `row` as blocks of `blockBytes`, most significant first, copying each
    // block from the all-ones or all-zeros row so YUYV's interleaved chroma comes along unchanged.
    internal static void EncodeBits(
        Span<byte> row, ReadOnlySpan<byte> zeroRow, ReadOnlySpan<byte> oneRow, uint value, int bits, int blockBytes)
    {
        zeroRow.CopyTo(row);
        for (var i = 0; i < bits; i++)
        {
            if (((value >> (bits - 1 - i)) & 1) != 0)
            {
                oneRow.Slice(i * blockBytes, blockBytes).CopyTo(row[(i * blockBytes)..]);
            }
        }
    }

    private void Prepare(FrameFormat format)
    {
        if (!format.IsValid)
        {
            throw new ArgumentException($"Cannot render {format}: not a valid format.", nameof(format));
        }

        var packed = format.PixelFormat == PixelFormats.Yuyv;
        var pairsPerRow = (int)format.Width / 2;
        var rampPairs = PeriodPairs + pairsPerRow;
        var rowBytes = (int)format.BytesPerLine;

        _lumaRamp = new byte[rampPairs * (packed ? 4 : 2)];
        _chromaRamp0 = format.PixelFormat switch
        {
            PixelFormats.Nv12 => new byte[rampPairs * 2],
            PixelFormats.Yu12 => new byte[rampPairs],
            _ => [],
        };
        _chromaRamp1 = format.PixelFormat == PixelFormats.Yu12 ? new byte[rampPairs] : [];
        for (var i = 0; i < rampPairs; i++)
        {
            var pair = i % PeriodPairs;
            var (y0, y1) = (RampLuma(2 * pair), RampLuma((2 * pair) + 1));
            var (cb, cr) = Bars[pair * Bars.Length / PeriodPairs];
            if (packed)
            {
                (_lumaRamp[4 * i], _lumaRamp[(4 * i) + 1], _lumaRamp[(4 * i) + 2], _lumaRamp[(4 * i) + 3]) = (y0, cb, y1, cr);
            }
            else
            {
                (_lumaRamp[2 * i], _lumaRamp[(2 * i) + 1]) = (y0, y1);
                if (format.PixelFormat == PixelFormats.Nv12)
                {
                    (_chromaRamp0[2 * i], _chromaRamp0[(2 * i) + 1]) = (cb, cr);
                }
                else
                {
                    (_chromaRamp0[i], _chromaRamp1[i]) = (cb, cr);
                }
            }
        }

        _zeroRow = BandRow(packed, rowBytes, LumaZero);
        _oneRow = BandRow(packed, rowBytes, LumaOne);
        _numberRow = new byte[rowBytes];
        _markerRow = new byte[rowBytes];
        EncodeBits(_markerRow, _zeroRow, _oneRow, Marker, MarkerBits, 2 * BlockWidth(format) * (packed ? 2 : 1));
        _neutralChromaRow = packed ? [] : new byte[rowBytes];
        _neutralChromaRow.AsSpan().Fill(NeutralChroma);
        _format = format;
    }

    // A 16..235 sawtooth over the period's 256 pixels.
    private static byte RampLuma(int pixel) => (byte)(LumaZero + (pixel * (LumaOne - LumaZero) / ((2 * PeriodPairs) - 1)));

    private static byte[] BandRow(bool packed, int rowBytes, byte luma)
    {
        var row = new byte[rowBytes];
        if (!packed)
        {
            row.AsSpan().Fill(luma);
            return row;
        }

        for (var i = 0; i < rowBytes; i += 2)
        {
            (row[i], row[i + 1]) = (luma, NeutralChroma);
        }

        return row;
    }
}
