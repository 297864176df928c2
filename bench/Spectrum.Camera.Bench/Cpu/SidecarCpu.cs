using System.Diagnostics;
using System.Globalization;
using Spectrum.Camera.Bench.Device;
using Spectrum.Camera.Bench.Native;
using Spectrum.Camera.Frames;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Bench.Cpu;

/// <summary>
/// CPU per sidecar: N real <c>spectrum-camera serve</c> processes, each streaming to its own test-frontend VMM at
/// the device's own pacing (30 fps), and the CPU time each process used over the window, read from
/// /proc/PID/stat (utime + stime, all its threads) at the start and end of the window.
/// </summary>
public static class SidecarCpu
{
    /// <param name="TargetPercent">The target, or null for a diagnosis.</param>
    /// <param name="Streaming">False: the guest connects and opens the device but never streams.</param>
    public sealed record Scenario(string Key, string Source, FrameFormat Format, double? TargetPercent, bool Streaming = true);

    /// <param name="PercentPerSidecar">utime + stime from /proc/PID/stat (USER_HZ resolution).</param>
    /// <param name="SchedstatPercentPerSidecar">The sum of /proc/PID/task/*/schedstat run times (nanoseconds).</param>
    public sealed record Result(Scenario Scenario, int Sidecars, double WindowSeconds, double[] PercentPerSidecar, double[] SchedstatPercentPerSidecar, double[] FramesPerSecond)
    {
        public double MeanPercent => PercentPerSidecar.Average();

        public double MaxPercent => PercentPerSidecar.Max();
    }

    public static IReadOnlyList<Scenario> Scenarios { get; } =
    [
        new("test_pattern_nv12_720p30", "test-pattern", new FrameFormat(PixelFormats.Nv12, 1280, 720), 2.0),
        new("test_pattern_nv12_1080p30", "test-pattern", new FrameFormat(PixelFormats.Nv12, 1920, 1080), 2.0),
        new("test_pattern_yuyv_1080p30", "test-pattern", new FrameFormat(PixelFormats.Yuyv, 1920, 1080), 2.0),
        new("black_nv12_1080p30", "black", new FrameFormat(PixelFormats.Nv12, 1920, 1080), 0.5),
        new("idle_connected", "test-pattern", new FrameFormat(PixelFormats.Nv12, 1920, 1080), null, Streaming: false),
    ];

    public static Result Measure(string sidecarDll, Scenario scenario, int sidecars, TimeSpan warmup, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        var directory = Directory.CreateTempSubdirectory("spectrum-bench-cpu-").FullName;
        var processes = new List<Process>();
        var streams = new List<Stream>();
        try
        {
            for (var i = 0; i < sidecars; i++)
            {
                var socket = Path.Combine(directory, $"cam{i}.sock");
                processes.Add(StartSidecar(sidecarDll, socket, $"bench{i}", scenario.Source));
                WaitForSocket(processes[^1], socket);
                streams.Add(new Stream(socket, scenario.Format, scenario.Streaming));
            }

            Thread.Sleep(warmup);
            var ticksPerSecond = BenchNative.ClockTicksPerSecond();
            var before = processes.Select(CpuTicks).ToArray();
            var schedBefore = processes.Select(ThreadsCpuNanoseconds).ToArray();
            var framesBefore = streams.Select(s => s.Frames).ToArray();
            var clock = Stopwatch.StartNew();
            Thread.Sleep(window);
            var after = processes.Select(CpuTicks).ToArray();
            var schedAfter = processes.Select(ThreadsCpuNanoseconds).ToArray();
            var framesAfter = streams.Select(s => s.Frames).ToArray();
            var seconds = clock.Elapsed.TotalSeconds;

            var percent = new double[sidecars];
            var schedPercent = new double[sidecars];
            var fps = new double[sidecars];
            for (var i = 0; i < sidecars; i++)
            {
                percent[i] = 100.0 * (after[i] - before[i]) / ticksPerSecond / seconds;
                schedPercent[i] = 100.0 * SumCommon(schedBefore[i], schedAfter[i]) / 1e9 / seconds;
                fps[i] = (framesAfter[i] - framesBefore[i]) / seconds;
            }

            foreach (var s in streams)
            {
                s.Stop();
            }

            return new Result(scenario, sidecars, seconds, percent, schedPercent, fps);
        }
        finally
        {
            foreach (var s in streams)
            {
                s.Dispose();
            }

            foreach (var p in processes)
            {
                // The sidecar exits 0 by itself once its VMM has gone; one that does not is ended here.
                if (!p.WaitForExit(TimeSpan.FromSeconds(10)))
                {
                    p.Kill();
                    p.WaitForExit();
                }

                p.Dispose();
            }

            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>utime + stime of the whole process (fields 14 and 15 of /proc/PID/stat, after the command name).</summary>
    private static long CpuTicks(Process process)
    {
        var stat = File.ReadAllText($"/proc/{process.Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state); utime is field 14, stime field 15.
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    /// <summary>Run time in nanoseconds of each thread of the process, by thread id (/proc/PID/task/TID/schedstat).</summary>
    private static Dictionary<int, long> ThreadsCpuNanoseconds(Process process)
    {
        var threads = new Dictionary<int, long>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{process.Id}/task"))
        {
            try
            {
                var text = File.ReadAllText(Path.Combine(task, "schedstat"));
                threads[int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture)] =
                    long.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // The thread ended while we looked.
            }
        }

        return threads;
    }

    /// <summary>Run time gained over the window by threads alive at both ends, plus all of any thread born in it.</summary>
    private static long SumCommon(Dictionary<int, long> before, Dictionary<int, long> after) =>
        after.Sum(t => t.Value - before.GetValueOrDefault(t.Key));

    private static Process StartSidecar(string dll, string socket, string vm, string source)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in (string[])[dll, "serve", "--socket-path", socket, "--vm", vm, "--source", source, "--log-level", "warning"])
        {
            info.ArgumentList.Add(a);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
        process.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrEmpty(e.Data))
            {
                Console.Error.WriteLine($"[{vm}] {e.Data}");
            }
        };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return process;
    }

    private static void WaitForSocket(Process process, string path)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.Exists(path))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"the sidecar did not create {path}");
            }

            Thread.Sleep(20);
        }
    }

    /// <summary>
    /// One VM's guest streaming from one sidecar: a test-frontend VMM, the guest driver's setup (open, S_FMT,
    /// REQBUFS of 4 buffers, QBUF, STREAMON), then a thread that takes each EVT_DQBUF and queues the buffer again,
    /// as a capture application does.
    /// </summary>
    private sealed class Stream : IDisposable
    {
        private const int BufferCount = 4;

        private readonly TestVmm _vmm;
        private readonly MediaGuestDriver _driver;
        private readonly CommandSlot _commands;
        private readonly CommandSlot.Placed[] _queue = new CommandSlot.Placed[BufferCount];
        private readonly Thread _thread;
        private volatile bool _stop;
        private long _frames;
        private Exception? _failure;

        public Stream(string socket, FrameFormat format, bool streaming)
        {
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

        public long Frames => Interlocked.Read(ref _frames);

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
}
