using Spectrum.Camera.Bench.Device;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Sources;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Bench.Cpu;

/// <summary>
/// One VM's guest streaming from one sidecar process: a test-frontend VMM, the guest driver's setup (open, S_FMT,
/// REQBUFS of 4 buffers of scattered pages, QBUF, STREAMON), then a thread that takes each EVT_DQBUF and queues the
/// buffer again, as a capture application does.
/// </summary>
/// <remarks>
/// With <c>inspect</c> the guest also looks at every frame it gets, cheaply: 32 x 32 luma samples spread over the
/// picture. A frame whose samples are all limited-range black (16) is counted as black; one whose samples differ
/// from the previous frame's as a new frame. A repeated frame (the sidecar showing its newest camera frame again
/// because no newer one had come) is neither, so <see cref="NewFrames"/> per second is the frame rate the guest
/// really sees. Both the test pattern and the replayed camera frames move in every frame at these samples (checked
/// when the suite was written: every consecutive pair of the replayed sequence differs in about 75 of the 1024).
/// With <c>readsFrameNumbers</c> (a test-pattern camera, or a camera VM writing test-pattern frames) it also reads the
/// frame number every test-pattern frame carries in its number band (the camera's sequence, or the order the camera
/// VM wrote its frames in): a number seen twice is a repeat, a jump a camera frame the guest never got.
/// </remarks>
public sealed class GuestCaptureStream : IDisposable
{
    private const int BufferCount = 4;
    private const int SampleGrid = 32;
    private const byte BlackLuma = 16;

    private readonly TestVmm _vmm;
    private readonly MediaGuestDriver _driver;
    private readonly CommandSlot _commands;
    private readonly CommandSlot.Placed[] _queue = new CommandSlot.Placed[BufferCount];
    private readonly ulong[][] _samples = new ulong[BufferCount][];
    private readonly ulong[][] _numberBits = new ulong[BufferCount][];
    private readonly bool _inspect;
    private readonly bool _readsFrameNumbers;
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _frames;
    private long _newFrames;
    private long _blackFrames;
    private long _repeatedNumbers;
    private long _skippedNumbers;
    private ulong _lastHash;
    private uint? _lastNumber;
    private Exception? _failure;

    public GuestCaptureStream(string socket, FrameFormat format, bool streaming, bool inspect = false, bool readsFrameNumbers = false)
    {
        ArgumentNullException.ThrowIfNull(socket);
        _inspect = inspect;
        _readsFrameNumbers = inspect && readsFrameNumbers;
        _vmm = new TestVmm(socket, [256, 256], (4UL * BufferCount * format.SizeImage) + (32UL << 20));
        _vmm.Initialize();
        _driver = new MediaGuestDriver(_vmm) { Timeout = ServedDevice.Timeout };
        _vmm.StartDriver(newRings: true, beforeEnable: _ => _driver.PostEventBuffers(16));
        Arm();
        var session = _driver.OpenSession();
        Ok(session, V4l2IoctlNumber.SFmt, MediaRequests.Format(format.Width, format.Height, format.PixelFormat), MediaRequests.SizeOf<V4l2Format>());
        Ok(session, V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(BufferCount), MediaRequests.SizeOf<V4l2RequestBuffers>());
        _commands = new CommandSlot(_vmm.Ram, _driver.CommandQueue);
        for (var i = 0; i < BufferCount; i++)
        {
            var buffer = new GuestFrameBuffer(_vmm.Ram, format.SizeImage);
            _samples[i] = LumaSamples(buffer, format);
            _numberBits[i] = NumberBandSamples(buffer, format);
            _queue[i] = _commands.Place(MediaRequests.QueueBuffer(session, (uint)i, MediaRequests.UserPtrOf(i), buffer), MediaRequests.SizeOf<V4l2Buffer>());
            Check(_commands.Send(_queue[i]), "QBUF");
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "bench-guest" };
        if (streaming)
        {
            Ok(session, V4l2IoctlNumber.StreamOn, MediaRequests.Word(V4l2.BufTypeVideoCapture), 0);
            _thread.Start();
        }
        else
        {
            _stop = true;
        }
    }

    /// <summary>EVT_DQBUF events taken so far.</summary>
    public long Frames => Interlocked.Read(ref _frames);

    /// <summary>Frames that were not black and differed from the frame before (with <c>inspect</c>).</summary>
    public long NewFrames => Interlocked.Read(ref _newFrames);

    /// <summary>Black frames (with <c>inspect</c>).</summary>
    public long BlackFrames => Interlocked.Read(ref _blackFrames);

    /// <summary>Test-pattern frames whose number was the previous frame's (with <c>readsFrameNumbers</c>).</summary>
    public long RepeatedNumbers => Interlocked.Read(ref _repeatedNumbers);

    /// <summary>Camera frames the guest never saw: the jumps in the test pattern's numbers (with <c>readsFrameNumbers</c>).</summary>
    public long SkippedNumbers => Interlocked.Read(ref _skippedNumbers);

    /// <summary>Stops the capture loop and reports its failure, if any.</summary>
    public void Stop()
    {
        _stop = true;
        if (_thread.IsAlive)
        {
            _thread.Join();
        }

        if (_failure is not null)
        {
            throw new InvalidOperationException("the guest's capture loop failed", _failure);
        }
    }

    public void Dispose()
    {
        _stop = true;
        if (_thread.IsAlive)
        {
            _thread.Join();
        }

        _vmm.Dispose(); // closes the vhost-user connection: the sidecar exits 0
    }

    /// <summary>The guest-physical address of each luma sample of the grid, in the buffer's scattered pages.</summary>
    private static ulong[] LumaSamples(GuestFrameBuffer buffer, FrameFormat format)
    {
        var bytesPerLumaSample = format.PixelFormat == PixelFormats.Yuyv ? 2u : 1u;
        var rowBytes = format.Width * bytesPerLumaSample;
        var samples = new ulong[SampleGrid * SampleGrid];
        for (var r = 0; r < SampleGrid; r++)
        {
            for (var c = 0; c < SampleGrid; c++)
            {
                var y = format.Height * (uint)((2 * r) + 1) / (2 * SampleGrid);
                var x = format.Width * (uint)((2 * c) + 1) / (2 * SampleGrid);
                samples[(r * SampleGrid) + c] = GpaAt(buffer, ((ulong)y * rowBytes) + (x * bytesPerLumaSample));
            }
        }

        return samples;
    }

    /// <summary>
    /// The guest-physical address of the luma sample in the middle of each of the test pattern's 32 number blocks, on
    /// the middle row of its number band (blocks (width / 32) rounded down to even pixels wide, most significant bit
    /// first; luma 235 for a 1, 16 for a 0).
    /// </summary>
    private static ulong[] NumberBandSamples(GuestFrameBuffer buffer, FrameFormat format)
    {
        var bytesPerLumaSample = format.PixelFormat == PixelFormats.Yuyv ? 2u : 1u;
        var blockWidth = format.Width / (uint)TestPatternSource.NumberBits & ~1u;
        var row = (ulong)(TestPatternSource.BandRows / 2) * format.Width * bytesPerLumaSample;
        return [.. Enumerable.Range(0, TestPatternSource.NumberBits)
            .Select(bit => GpaAt(buffer, row + ((((uint)bit * blockWidth) + (blockWidth / 2)) * bytesPerLumaSample)))];
    }

    private static ulong GpaAt(GuestFrameBuffer buffer, ulong offset)
    {
        foreach (var (gpa, length) in buffer.Ranges)
        {
            if (offset < length)
            {
                return gpa + offset;
            }

            offset -= length;
        }

        throw new ArgumentOutOfRangeException(nameof(offset), "past the end of the buffer");
    }

    private void Run()
    {
        try
        {
            var eventq = _driver.EventQueue;
            while (!_stop)
            {
                eventq.SetUsedEvent(eventq.UsedIndex);
                if (!eventq.TryTakeUsed(out var head, out _))
                {
                    eventq.WaitForCall(TimeSpan.FromMilliseconds(100));
                    continue;
                }

                var gpa = eventq.DescriptorAddress(head);
                var index = (int)MediaRequests.Read<VirtioMediaDqbufEvent>(_vmm.Ram.Span(gpa, MediaGuestDriver.EventBufferSize)).Buffer.Index;
                eventq.WriteDescriptor(head, gpa, (uint)MediaGuestDriver.EventBufferSize, GuestVirtqueue.FlagWrite, 0);
                RingOps.Publish(eventq, head);
                if (_inspect)
                {
                    Inspect(_samples[index]);
                }

                if (_readsFrameNumbers)
                {
                    ReadNumber(_numberBits[index]);
                }

                Check(_commands.Send(_queue[index]), "QBUF");
                Interlocked.Increment(ref _frames);
            }
        }
#pragma warning disable CA1031 // Reported by Stop.
        catch (Exception e)
#pragma warning restore CA1031
        {
            _failure = e;
        }
    }

    private void Inspect(ulong[] samples)
    {
        // FNV-1a over the samples; black when every sample is.
        var hash = 14695981039346656037UL;
        var black = true;
        foreach (var gpa in samples)
        {
            var luma = _vmm.Ram.Span(gpa, 1)[0];
            black &= luma == BlackLuma;
            hash = (hash ^ luma) * 1099511628211UL;
        }

        if (black)
        {
            Interlocked.Increment(ref _blackFrames);
        }
        else if (hash != _lastHash)
        {
            Interlocked.Increment(ref _newFrames);
        }

        _lastHash = hash;
    }

    private void ReadNumber(ulong[] bits)
    {
        var number = 0u;
        foreach (var gpa in bits)
        {
            number = (number << 1) | (_vmm.Ram.Span(gpa, 1)[0] > (TestPatternSource.LumaOne + TestPatternSource.LumaZero) / 2 ? 1u : 0u);
        }

        if (_lastNumber is { } last)
        {
            if (number == last)
            {
                Interlocked.Increment(ref _repeatedNumbers);
            }
            else if (number > last)
            {
                Interlocked.Add(ref _skippedNumbers, number - last - 1);
            }
        }

        _lastNumber = number;
    }

    private void Arm()
    {
        _driver.CommandQueue.SetUsedEvent(_driver.CommandQueue.UsedIndex);
        _driver.EventQueue.SetUsedEvent(_driver.EventQueue.UsedIndex);
    }

    private void Ok(uint session, V4l2IoctlNumber code, byte[] payload, int responsePayload)
    {
        Arm();
        Check(_driver.Ioctl(session, code, payload, responsePayload).Status, $"ioctl {code}");
    }

    private static void Check(uint status, string what)
    {
        if (status != 0)
        {
            throw new InvalidOperationException($"{what} failed with errno {status}");
        }
    }
}
