using Spectrum.Camera.Bench.Imaging;
using Spectrum.Camera.Bench.Native;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Imaging;

namespace Spectrum.Camera.Bench.WholeSystem;

/// <summary>
/// Where the MJPEG scenario's service CPU goes, measured apart on this thread over the same replayed frames: the
/// libjpeg-turbo decode alone (called directly, with the flags the project's decoder passes), and the service's
/// whole conversion into each guest format (<see cref="FrameConverter"/>: decode, crop, scale, convert into a
/// ring-sized buffer). Thread CPU time (schedstat), not wall time, so other processes on the machine do not count;
/// each as % of one core at the camera's rate.
/// </summary>
internal static class MjpegCost
{
    /// <summary>CPU time per frame, in nanoseconds, and as % of one core at <paramref name="fps"/>.</summary>
    public sealed record Figure(double NanosecondsPerFrame, double PercentOfCore);

    /// <summary>libjpeg-turbo's planar decode of each 4:2:2 frame (header + tjDecompressToYUV2, the project's flags).</summary>
    public static Figure DecodeAlone(IReadOnlyList<byte[]> jpegs, int width, int height, uint fps, int passes)
    {
        using var planes = PlanarImage.JpegPlanes(width, height, height, Swscale.AvPixFmtYuvj422P);
        var decoders = jpegs.Select(j => new TurboJpegDecoder(j, planes)).ToArray();
        try
        {
            var next = 0;
            return PerFrame(jpegs, passes, fps, _ => decoders[next++ % decoders.Length].Decode());
        }
        finally
        {
            foreach (var decoder in decoders)
            {
                decoder.Dispose();
            }
        }
    }

    public static Figure Convert(IReadOnlyList<byte[]> jpegs, int width, int height, FrameFormat guest, uint fps, int passes)
    {
        using var converter = new FrameConverter(HostFrameFormat.Mjpeg(width, height), guest);
        var destination = new byte[guest.SizeImage];
        return PerFrame(jpegs, passes, fps, jpeg =>
        {
            if (converter.Convert(jpeg, destination) != ConversionResult.Converted)
            {
                throw new InvalidOperationException($"the replayed JPEG did not convert to {guest}: {converter.LastJpegError}");
            }
        });
    }

    private static Figure PerFrame(IReadOnlyList<byte[]> jpegs, int passes, uint fps, Action<byte[]> work)
    {
        // One pass first, untimed: the JIT's tiers and the library's tables.
        foreach (var jpeg in jpegs)
        {
            work(jpeg);
        }

        var tid = BenchNative.CurrentThreadId();
        var start = BenchNative.ThreadCpuNanoseconds(tid);
        for (var pass = 0; pass < passes; pass++)
        {
            foreach (var jpeg in jpegs)
            {
                work(jpeg);
            }
        }

        var perFrame = (double)(BenchNative.ThreadCpuNanoseconds(tid) - start) / (passes * jpegs.Count);
        return new Figure(perFrame, 100.0 * perFrame * fps / 1e9);
    }
}
