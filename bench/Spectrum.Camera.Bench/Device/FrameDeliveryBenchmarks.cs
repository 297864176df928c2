using BenchmarkDotNet.Attributes;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Virtio;

namespace Spectrum.Camera.Bench.Device;

/// <summary>
/// The frame path: one frame through the real device path against a plain copy of the same bytes into the same kind
/// of memory, in the same run. Guest RAM is the test frontend's memfd, the device is served over a Unix socket by the
/// real backend and device loop, and the guest side waits on the call eventfd like an interrupt.
/// </summary>
/// <remarks>
/// Both sides cycle through <see cref="Buffers"/> destinations, so neither is helped by a destination still in cache
/// (32 buffers of a 1080p frame are far larger than the L3). <see cref="Frame"/> is the frame path alone: the device's
/// queued buffers are re-queued by the iteration setup, outside the measurement. <see cref="StreamingCycle"/> is a
/// whole steady-state cycle: the frame plus the guest's QBUF of the buffer it got. <see cref="FrameTestPattern"/>
/// renders the test pattern in the tick instead of copying a prepared frame.
/// </remarks>
public class FrameDeliveryBenchmarks
{
    public const int Buffers = 32;

    /// <summary>Two queued buffers always stay ahead, so no tick finds a buffer queued less than two periods ago.</summary>
    public const int FramesPerIteration = Buffers - 2;

    private ServedDevice? _device;
    private FrameRig? _rig;
    private byte[] _frame = [];
    private ulong[] _copyTargets = [];
    private int _nextTarget;
    private GuestMemory? _deviceView;
    private GuestRange[][] _bufferRanges = [];
    private readonly GuestRangeWriter _writer = new();

    [ParamsSource(nameof(Cases))]
    public FrameCase Case { get; set; } = FrameCase.All.First();

    public static IEnumerable<FrameCase> Cases => FrameCase.All;

    [GlobalSetup(Targets = [nameof(Memcpy), nameof(MemcpyScattered), nameof(MemcpyNonTemporal), nameof(MemcpyScatteredNonTemporal),
        nameof(DeviceCopyRoutine), nameof(Frame), nameof(StreamingCycle)])]
    public void SetUpPrepared()
    {
        var source = new PreparedFrameSource(Case.Format);
        _frame = source.Frame.ToArray();
        Start(source);
    }

    [GlobalSetup(Target = nameof(FrameTestPattern))]
    public void SetUpTestPattern()
    {
        _frame = new byte[Case.Format.SizeImage];
        Start(new TestPatternSource());
    }

    [GlobalSetup(Targets = [nameof(FrameBlack), nameof(FillScatteredBlack)])]
    public void SetUpBlack()
    {
        _frame = new byte[Case.Format.SizeImage];
        Start(new BlackFrameSource());
    }

    [IterationSetup(Targets = [nameof(Frame), nameof(FrameTestPattern), nameof(FrameBlack)])]
    public void RequeueDelivered() => _rig!.RequeueDelivered();

    [GlobalCleanup]
    public void CleanUp()
    {
        var (_, dropped, failed) = _rig!.Counters();
        _deviceView?.Dispose();
        _device!.Dispose();
        if (dropped != 0 || failed != 0)
        {
            throw new InvalidOperationException($"the device dropped {dropped} and failed {failed} frames during the benchmark");
        }
    }

    /// <summary>The baseline: the frame's bytes copied into guest RAM (memfd, shared mapping), one buffer after another.</summary>
    [Benchmark(Baseline = true)]
    public void Memcpy()
    {
        _frame.CopyTo(_device!.Ram.Span(_copyTargets[_nextTarget], _frame.Length));
        _nextTarget = (_nextTarget + 1) % _copyTargets.Length;
    }

    /// <summary>
    /// Not a baseline, a diagnosis: the same bytes copied by the benchmark thread into the very pages the device
    /// writes, one 4 KiB copy per SG entry as the guest sent them (what the device did before it merged adjacent
    /// entries), buffer after buffer. What this costs over <see cref="Memcpy"/> is the price of the guest's
    /// scattered pages, not of the device.
    /// </summary>
    [Benchmark]
    public void MemcpyScattered() => CopyScattered(nonTemporal: false);

    /// <summary>Diagnosis: <see cref="Memcpy"/> with non-temporal stores (what streaming stores would buy a plain copy).</summary>
    [Benchmark]
    public void MemcpyNonTemporal()
    {
        NonTemporalCopy.Copy(_frame, _device!.Ram.Span(_copyTargets[_nextTarget], _frame.Length));
        _nextTarget = (_nextTarget + 1) % _copyTargets.Length;
    }

    /// <summary>Diagnosis: <see cref="MemcpyScattered"/> with non-temporal stores (what they would buy the device's copy).</summary>
    [Benchmark]
    public void MemcpyScatteredNonTemporal() => CopyScattered(nonTemporal: true);

    /// <summary>
    /// Diagnosis: the device's own copy routine alone, on this thread: <see cref="GuestRangeWriter"/> (what the
    /// frame sink uses) writing the frame through a second mapping of the guest RAM memfd, as the backend maps it,
    /// into the same buffer's ranges as the device keeps them (one per physically contiguous run of pages).
    /// <see cref="Frame"/> minus this is the rest of the path.
    /// </summary>
    [Benchmark]
    public bool DeviceCopyRoutine()
    {
        var ranges = _bufferRanges[_nextTarget];
        _writer.Reset(_deviceView!, ranges, 0, ranges.Length);
        var ok = _writer.Write(_frame);
        _nextTarget = (_nextTarget + 1) % _copyTargets.Length;
        return ok ? ok : throw new InvalidOperationException("GuestRangeWriter refused the frame");
    }

    /// <summary>Timer expiry → prepared frame into the oldest queued buffer's scattered guest pages → EVT_DQBUF → used ring → call eventfd → guest.</summary>
    [Benchmark]
    public int Frame() => _rig!.DeliverFrame();

    /// <summary>The same frame, then the guest queues the buffer again (QBUF with its SG list, answered by the device).</summary>
    [Benchmark]
    public int StreamingCycle()
    {
        var index = _rig!.DeliverFrame();
        _rig.ForgetDelivered();
        _rig.Queue(index);
        return index;
    }

    /// <summary>The frame path with the test pattern rendered in the tick (the source `serve` uses today).</summary>
    [Benchmark]
    public int FrameTestPattern() => _rig!.DeliverFrame();

    /// <summary>The frame path with the black source (no permission, no camera): 16 KiB chunks copied into the pages.</summary>
    [Benchmark]
    public int FrameBlack() => _rig!.DeliverFrame();

    /// <summary>
    /// Diagnosis for the black source: the same black frame written by filling each page (Span.Fill: stores only,
    /// no source to read) instead of copying chunks, into the same scattered pages, on the benchmark thread.
    /// </summary>
    [Benchmark]
    public void FillScatteredBlack()
    {
        var ram = _device!.Ram;
        var ranges = _rig!.Buffers[_nextTarget].Ranges;
        var luma = (long)Case.Format.PlaneSize(0);
        long offset = 0;
        for (var i = 0; i < ranges.Count; i++)
        {
            var (gpa, length) = ranges[i];
            var page = ram.Span(gpa, (int)length);
            if (Case.PixelFormat == Spectrum.Camera.Frames.PixelFormats.Yuyv)
            {
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(page).Fill((ushort)(BlackFrameSource.BlackLuma | (BlackFrameSource.NeutralChroma << 8)));
            }
            else
            {
                var inLuma = (int)Math.Clamp(luma - offset, 0, length);
                page[..inLuma].Fill(BlackFrameSource.BlackLuma);
                page[inLuma..].Fill(BlackFrameSource.NeutralChroma);
            }

            offset += length;
        }

        _nextTarget = (_nextTarget + 1) % _copyTargets.Length;
    }

    /// <summary>
    /// The frame path against the memcpy baseline, interleaved in blocks of <see cref="FramesPerIteration"/>
    /// (<see cref="Reporting.PairedRatio"/>), on this benchmark's own setup: call after <see cref="SetUpPrepared"/>,
    /// then <see cref="CleanUp"/>. Buffers are re-queued between rounds.
    /// </summary>
    public Reporting.PairedRatio.Result PairedFrameVersusMemcpy(int rounds) =>
        Reporting.PairedRatio.Measure(Memcpy, () => Frame(), rounds, block: FramesPerIteration, between: RequeueDelivered);

    /// <summary>
    /// The device loop thread's CPU time per frame against the memcpy baseline, interleaved as
    /// <see cref="PairedFrameVersusMemcpy"/> is: each round one block of <see cref="FramesPerIteration"/> memcpys
    /// (wall time, as BenchmarkDotNet times the baseline) and one block of as many frames (the loop thread's run time
    /// from its schedstat), the order flipped every round, the buffers re-queued between rounds; the median of the
    /// per-round ratios. Interleaved because the host's load moves CPU time too (in a VM it includes stalls and
    /// time the vCPU was not running): a ratio of two moments can drift by 10-20 %.
    /// </summary>
    public Reporting.PairedRatio.Result PairedDeviceCpuVersusMemcpy(int rounds)
    {
        var loop = _device!.LoopThreadId;
        double MemcpyBlock()
        {
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            for (var i = 0; i < FramesPerIteration; i++)
            {
                Memcpy();
            }

            return System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalNanoseconds / FramesPerIteration;
        }

        double FrameBlock()
        {
            var start = Native.BenchNative.ThreadCpuNanoseconds(loop);
            for (var i = 0; i < FramesPerIteration; i++)
            {
                Frame();
            }

            return (double)(Native.BenchNative.ThreadCpuNanoseconds(loop) - start) / FramesPerIteration;
        }

        for (var i = 0; i < Math.Max(2, rounds / 10); i++)
        {
            MemcpyBlock();
            FrameBlock();
            RequeueDelivered();
        }

        var (ratios, memcpy, device) = (new double[rounds], new double[rounds], new double[rounds]);
        for (var r = 0; r < rounds; r++)
        {
            if (r % 2 == 0)
            {
                memcpy[r] = MemcpyBlock();
                device[r] = FrameBlock();
            }
            else
            {
                device[r] = FrameBlock();
                memcpy[r] = MemcpyBlock();
            }

            ratios[r] = device[r] / memcpy[r];
            RequeueDelivered();
        }

        return new Reporting.PairedRatio.Result(rounds, Reporting.PairedRatio.Median(ratios), Reporting.PairedRatio.Median(memcpy),
            Reporting.PairedRatio.Median(device), double.NaN);
    }

    /// <summary>
    /// Diagnosis, no target: <see cref="PairedFrameVersusMemcpy"/> with this thread (the guest) and the device loop
    /// thread both pinned to the CPU this thread runs on, so that no frame waits for another vCPU to wake: what is
    /// left of the frame path's wall-clock cost once the cross-CPU wake-ups are gone. Affinities are restored after.
    /// </summary>
    public Reporting.PairedRatio.Result PairedFrameVersusMemcpyOnOneCpu(int rounds)
    {
        var guest = Native.BenchNative.CurrentThreadId();
        var loop = _device!.LoopThreadId;
        var (guestMask, loopMask) = (Native.BenchNative.Affinity(guest), Native.BenchNative.Affinity(loop));
        var cpu = 1UL << System.Threading.Thread.GetCurrentProcessorId();
        try
        {
            Native.BenchNative.SetAffinity(guest, cpu);
            Native.BenchNative.SetAffinity(loop, cpu);
            return PairedFrameVersusMemcpy(rounds);
        }
        finally
        {
            Native.BenchNative.SetAffinity(loop, loopMask);
            Native.BenchNative.SetAffinity(guest, guestMask);
        }
    }

    // The frame into the next guest buffer's pages, one copy per SG entry, as the device's GuestRangeWriter does.
    private void CopyScattered(bool nonTemporal)
    {
        var source = _frame.AsSpan();
        var ram = _device!.Ram;
        var ranges = _rig!.Buffers[_nextTarget].Ranges;
        for (var i = 0; i < ranges.Count; i++)
        {
            var (gpa, length) = ranges[i];
            var destination = ram.Span(gpa, (int)length);
            if (nonTemporal)
            {
                NonTemporalCopy.Copy(source[..(int)length], destination);
            }
            else
            {
                source[..(int)length].CopyTo(destination);
            }

            source = source[(int)length..];
        }

        _nextTarget = (_nextTarget + 1) % _copyTargets.Length;
    }

    private void Start(Spectrum.Camera.Frames.IFrameSource source)
    {
        _device = new ServedDevice(source, Case.RamFor(Buffers));
        _rig = new FrameRig(_device, Case.Format, Buffers, Case.PagesPerRun);
        _rig.QueueAll();
        _rig.StreamOn();
        var ram = _device.Ram;
        _deviceView = new GuestMemory(ram.Regions.Select(r => GuestMemoryRegion.Map(r.GuestPhysicalAddress, r.Size, r.UserAddress, r.MmapOffset, ram.Fd)));
        _bufferRanges = [.. _rig.Buffers.Select(b => b.Runs.Select(r => new GuestRange(r.Gpa, r.Length)).ToArray())];
        _copyTargets = new ulong[Buffers];
        for (var i = 0; i < Buffers; i++)
        {
            _copyTargets[i] = _device.Ram.Allocate(Case.Format.SizeImage, 4096);
            _device.Ram.Span(_copyTargets[i], (int)Case.Format.SizeImage).Clear(); // fault the pages in, as the device's are after warm-up
        }
    }
}
