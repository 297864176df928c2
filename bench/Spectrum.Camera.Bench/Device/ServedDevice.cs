using Spectrum.Camera.Bench.Native;
using Spectrum.Camera.Threading;
using Spectrum.Camera.Media.Device;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.VhostUser;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Bench.Device;

/// <summary>
/// One capture device served for real, as the component tests' MediaHarness does it: a <see cref="VirtioMediaDevice"/>
/// behind a <see cref="VhostUserBackend"/> on its own <see cref="EventLoop"/> thread, listening on a Unix socket, with
/// the test frontend's <see cref="TestVmm"/> connected (memfd guest RAM, eventfds, QEMU's message sequences) and its
/// <see cref="MediaGuestDriver"/> as the guest driver.
/// </summary>
/// <remarks>
/// The device paces frames with a timerfd of its own. The benchmarks drive that same timerfd
/// (<see cref="FireFrameTimer"/>): it is found as the one timerfd the process gained when the device was attached, its
/// periodic arming is cancelled after STREAMON, and for each frame it is made readable with one expiration
/// (TFD_IOC_SET_TICKS), so the device's own tick callback runs the real frame path on demand instead of every 33 ms,
/// without the hypervisor's timer latency (a frame period's timer wake-up is idle time, not work).
/// </remarks>
public sealed class ServedDevice : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly string _directory;
    private readonly LoopThread _loop = new("bench-device-loop", Timeout);
    private readonly VhostUserServer _server;
    private bool _disposed;

    public ServedDevice(IFrameSource source, ulong ramSize)
    {
        Log.MinimumLevel = LogLevel.Warning;
        var timersBefore = BenchNative.TimerFds();
        _directory = Directory.CreateTempSubdirectory("spectrum-bench-").FullName;
        Device = new VirtioMediaDevice(new MediaDeviceOptions(MediaDeviceOptions.DefaultCard, StableMenu.Default, source));
        var socketPath = Path.Combine(_directory, "camera.sock");
        _server = VhostUserServer.Listen(socketPath, Device, _loop.Loop);
        _loop.Invoke(_server.Start);
        Vmm = new TestVmm(socketPath, [256, 256], ramSize);
        Vmm.Client.ReplyTimeout = Timeout;
        Vmm.Initialize();
        Driver = new MediaGuestDriver(Vmm) { Timeout = Timeout };
        Vmm.StartDriver(newRings: true, beforeEnable: _ => Driver.PostEventBuffers(16));

        LoopThreadId = OnLoop(BenchNative.CurrentThreadId);
        var timers = BenchNative.TimerFds();
        timers.ExceptWith(timersBefore);
        FrameTimerFd = timers.Count == 1
            ? timers.Single()
            : throw new InvalidOperationException($"expected the device to add one timerfd, found {timers.Count}");
    }

    public VirtioMediaDevice Device { get; }

    public TestVmm Vmm { get; }

    public MediaGuestDriver Driver { get; }

    public GuestRam Ram => Vmm.Ram;

    /// <summary>The kernel thread id of the device loop (for its CPU time in /proc/self/task).</summary>
    public int LoopThreadId { get; }

    /// <summary>The device's frame timerfd.</summary>
    public int FrameTimerFd { get; }

    /// <summary>Makes the device's frame timer expire once, now: one tick of the real frame path.</summary>
    public void FireFrameTimer() => BenchNative.FireOnce(FrameTimerFd);

    /// <summary>Stops the device's own pacing (STREAMON arms the timer at the negotiated rate).</summary>
    public void DisarmFrameTimer() => BenchNative.Disarm(FrameTimerFd);

    /// <summary>Runs <paramref name="read"/> on the device loop (after everything queued before it) and returns its result.</summary>
    public T OnLoop<T>(Func<T> read) => _loop.Invoke(read);

    /// <summary>
    /// Re-arms interrupts on both rings (EVENT_IDX used_event = what was consumed), as the Linux driver does before it
    /// sleeps; without it only the first completion would signal the call eventfd.
    /// </summary>
    public void ArmInterrupts()
    {
        Driver.CommandQueue.SetUsedEvent(Driver.CommandQueue.UsedIndex);
        Driver.EventQueue.SetUsedEvent(Driver.EventQueue.UsedIndex);
    }

    public uint OpenSession()
    {
        ArmInterrupts();
        return Driver.OpenSession();
    }

    /// <summary>An ioctl through the test frontend's driver that must succeed; returns its payload.</summary>
    public byte[] IoctlOk(uint session, V4l2IoctlNumber code, ReadOnlySpan<byte> payload, int responsePayload)
    {
        ArmInterrupts();
        var (status, answer) = Driver.Ioctl(session, code, payload, responsePayload);
        return status == 0 ? answer : throw new InvalidOperationException($"ioctl {code} failed with errno {status}");
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Vmm.Dispose();
        _loop.Stop();
        _server.Dispose();
        Device.Dispose();
        _loop.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
