using Spectrum.Camera.Bench.Native;

namespace Spectrum.Camera.Bench.Device;

/// <summary>
/// Bytes allocated per frame, measured where it matters: over many steady-state streaming cycles (frame, then QBUF of the
/// buffer), the managed bytes the device loop thread allocated (GC.GetAllocatedBytesForCurrentThread read on that
/// thread), the bytes the whole process allocated (the guest side allocates nothing in this loop), and the loop
/// thread's CPU time from /proc/self/task/TID/schedstat, per cycle and per frame alone. CPU time is the device's
/// cost without the wake-up latencies that the wall-clock benchmarks include. BenchmarkDotNet's MemoryDiagnoser gives the
/// same allocation figure per benchmark operation; this one separates the device's thread from everything else.
/// </summary>
public static class SteadyStateProbe
{
    /// <param name="DeviceThreadCpuNsPerCycle">Loop thread CPU per frame + QBUF cycle.</param>
    /// <param name="DeviceThreadCpuNsPerFrame">Loop thread CPU per frame alone (QBUFs happen between the measured bursts).</param>
    public sealed record Result(FrameCase Case, int Frames, double DeviceThreadBytesPerFrame, double ProcessBytesPerFrame,
        double DeviceThreadCpuNsPerCycle, double DeviceThreadCpuNsPerFrame);

    public static Result Measure(FrameCase frameCase, int warmupFrames, int frames)
    {
        ArgumentNullException.ThrowIfNull(frameCase);
        using var device = new ServedDevice(new PreparedFrameSource(frameCase.Format), frameCase.RamFor(FrameDeliveryBenchmarks.Buffers));
        var rig = new FrameRig(device, frameCase.Format, FrameDeliveryBenchmarks.Buffers, frameCase.PagesPerRun);
        rig.QueueAll();
        rig.StreamOn();
        Cycle(rig, warmupFrames);

        var loopBytesBefore = device.OnLoop(() => GC.GetAllocatedBytesForCurrentThread());
        var cpuBefore = BenchNative.ThreadCpuNanoseconds(device.LoopThreadId);
        var processBytesBefore = GC.GetTotalAllocatedBytes(precise: true);
        Cycle(rig, frames);
        var processBytesAfter = GC.GetTotalAllocatedBytes(precise: true);
        var cpuAfter = BenchNative.ThreadCpuNanoseconds(device.LoopThreadId);
        var loopBytesAfter = device.OnLoop(() => GC.GetAllocatedBytesForCurrentThread());

        // Frame alone: bursts of as many frames as can be delivered without a QBUF, the QBUFs outside the sums.
        long frameCpu = 0;
        var framesMeasured = 0;
        while (framesMeasured < frames)
        {
            var burst = Math.Min(FrameDeliveryBenchmarks.FramesPerIteration, frames - framesMeasured);
            var start = BenchNative.ThreadCpuNanoseconds(device.LoopThreadId);
            for (var i = 0; i < burst; i++)
            {
                rig.DeliverFrame();
            }

            frameCpu += BenchNative.ThreadCpuNanoseconds(device.LoopThreadId) - start;
            framesMeasured += burst;
            rig.RequeueDelivered();
        }

        var (delivered, dropped, failed) = rig.Counters();
        if (dropped != 0 || failed != 0 || delivered < (ulong)(warmupFrames + frames + frames))
        {
            throw new InvalidOperationException($"{frameCase}: {delivered} delivered, {dropped} dropped, {failed} failed");
        }

        // The OnLoop call that read the "before" figure allocated its closure before the read; the one that read the
        // "after" figure allocated after it returned, so neither is inside the difference.
        return new Result(frameCase, frames,
            (double)(loopBytesAfter - loopBytesBefore) / frames,
            (double)(processBytesAfter - processBytesBefore) / frames,
            (double)(cpuAfter - cpuBefore) / frames,
            (double)frameCpu / frames);
    }

    private static void Cycle(FrameRig rig, int frames)
    {
        for (var i = 0; i < frames; i++)
        {
            var index = rig.DeliverFrame();
            rig.ForgetDelivered();
            rig.Queue(index);
        }
    }
}
