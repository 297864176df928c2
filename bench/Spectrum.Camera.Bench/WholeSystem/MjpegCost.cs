using System.Diagnostics;
using Spectrum.Camera.Bench.Imaging;
using Spectrum.Camera.Bench.Native;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Imaging;

namespace Spectrum.Camera.Bench.WholeSystem;

/// <summary>
/// Where the MJPEG scenario's service CPU goes, measured apart on this thread over the same replayed frames: the
/// libjpeg-turbo decode alone (called directly, with the flags the project's decoder passes), and the service's
/// whole conversion into guest formats (<see cref="FrameConverter"/>: decode, crop, scale, convert into a
/// ring-sized buffer). Thread CPU time (schedstat), not wall time, so other processes on the machine do not count;
/// each as % of one core at the camera's rate.
/// </summary>
/// <remarks>
/// Back to back, the frames find the library's tables, the decoded planes and the destination in the caches. Paced
/// (one frame every camera period, as the service gets them), each starts as cold as in the service, so the paced
/// figures are the ones to hold against the service process's CPU.
/// </remarks>
internal static class MjpegCost
{
    /// <summary>CPU time per frame, in nanoseconds, and as % of one core at the camera's rate.</summary>
    public sealed record Figure(double NanosecondsPerFrame, double PercentOfCore);

    /// <summary>libjpeg-turbo's planar decode of each 4:2:2 frame (header + tjDecompressToYUV2, the project's flags).</summary>
    public static Figure DecodeAlone(IReadOnlyList<byte[]> jpegs, int width, int height, uint fps, int passes, bool paced = false)
    {
        using var planes = PlanarImage.JpegPlanes(width, height, height, Swscale.AvPixFmtYuvj422P);
        var decoders = jpegs.Select(j => new TurboJpegDecoder(j, planes)).ToArray();
        try
        {
            var next = 0;
            return PerFrame(jpegs, passes, fps, paced, _ => decoders[next++ % decoders.Length].Decode());
        }
        finally
        {
            foreach (var decoder in decoders)
            {
                decoder.Dispose();
            }
        }
    }

    /// <summary>
    /// Each frame converted into every one of <paramref name="guests"/> in turn, as the service does per frame: the
    /// converters share one decoder, so each frame is decoded once (the service's converter cache does the same).
    /// </summary>
    public static Figure Convert(IReadOnlyList<byte[]> jpegs, int width, int height, IReadOnlyList<FrameFormat> guests, uint fps, int passes,
        bool paced = false)
    {
        ArgumentNullException.ThrowIfNull(guests);
        using var decoder = new SharedMjpegDecoder(width, height);
        var converters = guests.Select(g => new FrameConverter(HostFrameFormat.Mjpeg(width, height), g, decoder)).ToArray();
        var destinations = guests.Select(g => new byte[g.SizeImage]).ToArray();
        ulong frame = 0;
        try
        {
            return PerFrame(jpegs, passes, fps, paced, jpeg =>
            {
                frame++;
                for (var i = 0; i < converters.Length; i++)
                {
                    if (converters[i].Convert(jpeg, frame, destinations[i]) != ConversionResult.Converted)
                    {
                        throw new InvalidOperationException($"the replayed JPEG did not convert to {guests[i]}: {converters[i].LastJpegError}");
                    }
                }
            });
        }
        finally
        {
            foreach (var converter in converters)
            {
                converter.Dispose();
            }
        }
    }

    private static Figure PerFrame(IReadOnlyList<byte[]> jpegs, int passes, uint fps, bool paced, Action<byte[]> work)
    {
        // One pass first, untimed: the JIT's tiers and the library's tables.
        foreach (var jpeg in jpegs)
        {
            work(jpeg);
        }

        var period = TimeSpan.FromSeconds(1.0 / fps);
        var tid = BenchNative.CurrentThreadId();
        var start = BenchNative.ThreadCpuNanoseconds(tid);
        var clock = Stopwatch.StartNew();
        var frames = 0;
        for (var pass = 0; pass < passes; pass++)
        {
            foreach (var jpeg in jpegs)
            {
                work(jpeg);
                frames++;
                if (paced && period * frames - clock.Elapsed is { Ticks: > 0 } wait)
                {
                    Thread.Sleep(wait);
                }
            }
        }

        var perFrame = (double)(BenchNative.ThreadCpuNanoseconds(tid) - start) / frames;
        return new Figure(perFrame, 100.0 * perFrame * fps / 1e9);
    }
}
