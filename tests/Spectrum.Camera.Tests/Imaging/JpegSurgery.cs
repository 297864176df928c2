namespace Spectrum.Camera.Tests.Imaging;

/// <summary>Cuts at the marker-segment level of a baseline JPEG, for building realistic broken and stripped frames.</summary>
internal static class JpegSurgery
{
    /// <summary>The offset of the SOS marker (0xFFDA): everything before it is headers and tables.</summary>
    public static int StartOfScan(byte[] jpeg) => SegmentOffset(jpeg, 0xDA);

    /// <summary>The offset of the first segment of <paramref name="marker"/> (its 0xFF byte).</summary>
    public static int SegmentOffset(byte[] jpeg, byte marker)
    {
        foreach (var (offset, segmentMarker, _) in Segments(jpeg))
        {
            if (segmentMarker == marker)
            {
                return offset;
            }
        }

        throw new ArgumentException($"No segment with marker 0x{marker:X2}.");
    }

    /// <summary>The JPEG without its segments of <paramref name="marker"/> (e.g. 0xC4, the Huffman tables).</summary>
    public static byte[] WithoutSegments(byte[] jpeg, byte marker)
    {
        var result = new List<byte>(jpeg.Length);
        var kept = 0;
        foreach (var (offset, segmentMarker, length) in Segments(jpeg))
        {
            if (segmentMarker == marker)
            {
                result.AddRange(jpeg[kept..offset]);
                kept = offset + 2 + length;
            }
        }

        result.AddRange(jpeg[kept..]);
        return [.. result];
    }

    // Marker segments after SOI up to and including SOS: (offset of 0xFF, marker, length field).
    private static IEnumerable<(int Offset, byte Marker, int Length)> Segments(byte[] jpeg)
    {
        var i = 2;
        while (i + 4 <= jpeg.Length && jpeg[i] == 0xFF)
        {
            var marker = jpeg[i + 1];
            var length = (jpeg[i + 2] << 8) | jpeg[i + 3];
            yield return (i, marker, length);
            if (marker == 0xDA)
            {
                yield break;
            }

            i += 2 + length;
        }
    }
}
