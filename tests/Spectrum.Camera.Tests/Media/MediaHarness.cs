using Spectrum.Camera.Threading;
using Spectrum.Camera.Media.Device;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Sources;
using Spectrum.Camera.Tests.Core;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.VhostUser;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// One capture device served for real: a <see cref="VirtioMediaDevice"/> behind a <see cref="VhostUserBackend"/> on
/// its own <see cref="EventLoop"/> thread, listening on a temporary Unix socket, with a <see cref="TestVmm"/>
/// connected to it (memfd guest RAM, eventfds, QEMU's message sequences) and a <see cref="MediaGuestDriver"/> playing
/// the guest driver. Device state is read on the loop thread only (<see cref="OnLoop{T}"/>).
/// </summary>
/// <remarks>
/// The log is process-wide: the harness captures it (<see cref="LogCapture"/>) for its lifetime, so fixtures using it
/// must not run in parallel with each other.
/// </remarks>
public sealed class MediaHarness : IDisposable
{
    /// <summary>Queue sizes as the project's QEMU 10.0 command line sets them (vq_size=256, crosvm's size too).</summary>
    public static readonly ushort[] QueueSizes = [256, 256];

    /// <summary>Queue sizes of QEMU 11.2's vhost-user-media (virtio_add_queue(vdev, 128, ...) for both).</summary>
    public static readonly ushort[] MediaDeviceQueueSizes = [128, 128];

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly string _directory;
    private readonly Func<EventLoop, MediaDeviceOptions> _options;
    private readonly LogCapture _log = new();
    private LoopThread _loop = new("media-device-loop", Timeout);
    private VhostUserServer _server;
    private bool _disposed;

    private MediaHarness(Func<EventLoop, MediaDeviceOptions> options, ulong ramSize, int eventBuffers, FrontendModel model)
    {
        _directory = Directory.CreateTempSubdirectory("spectrum-media-").FullName;
        _options = options;
        SocketPath = Path.Combine(_directory, "camera.sock");
        (Device, _server) = Serve();
        Vmm = new TestVmm(SocketPath, model == FrontendModel.Qemu112Media ? MediaDeviceQueueSizes : QueueSizes, ramSize, model);
        try
        {
            Vmm.Client.ReplyTimeout = Timeout;
            Vmm.Initialize();
            Driver = NewDriver();
            Vmm.StartDriver(newRings: true, beforeEnable: _ => Driver.PostEventBuffers(eventBuffers));
        }
        catch
        {
            // A front-end that cannot realize (QEMU 11.2 against a sidecar without a window) leaves nothing behind.
            Dispose();
            throw;
        }
    }

    /// <summary>The device of the sidecar serving now (replaced by <see cref="RestartSidecar"/>).</summary>
    public VirtioMediaDevice Device { get; private set; }

    public string SocketPath { get; }

    /// <summary>The backend of the VMM's connection, read on the loop.</summary>
    public VhostUserBackend? Backend => _loop.Invoke(() => _server.Backend);

    public TestVmm Vmm { get; }

    /// <summary>The guest driver of the current driver instance (replaced by <see cref="Reboot"/>).</summary>
    public MediaGuestDriver Driver { get; private set; } = null!;

    public GuestRam Ram => Vmm.Ram;

    /// <summary>What escaped the device loop, if anything did (the loop is dead then).</summary>
    public Exception? LoopFailure => _loop.Failure;

    /// <summary>Everything the device logged so far.</summary>
    public string LogText => _log.Text;

    /// <summary>
    /// Starts a device; the default is the test pattern on the default menu in 64 MiB of guest RAM, with the 16 eventq
    /// buffers a Linux driver posts before DRIVER_OK.
    /// </summary>
    public static MediaHarness Start(IFrameSource? source = null, StableMenu? menu = null, ulong ramSize = 64UL << 20,
        string card = MediaDeviceOptions.DefaultCard, int eventBuffers = 16, FrontendModel model = FrontendModel.Qemu10Generic,
        ulong sharedMemorySize = MediaDeviceOptions.DefaultSharedMemorySize) =>
        new(_ => new MediaDeviceOptions(card, menu ?? StableMenu.Default, source ?? new TestPatternSource()) { SharedMemorySize = sharedMemorySize },
            ramSize, eventBuffers, model);

    /// <summary>Starts a device whose source lives on the device loop (the camera-service client needs the loop).</summary>
    public static MediaHarness Start(Func<EventLoop, IFrameSource> sourceOnLoop, StableMenu? menu = null, ulong ramSize = 64UL << 20) =>
        new(loop => new MediaDeviceOptions(MediaDeviceOptions.DefaultCard, menu ?? StableMenu.Default, sourceOnLoop(loop)), ramSize, 16,
            FrontendModel.Qemu10Generic);

    /// <summary>
    /// The sidecar dies (its loop, connection and device go, so every fd it held closes) and a new one listens on the
    /// same socket, as systemd restarts it; nothing reconnects yet (<see cref="TestVmm.Reconnect"/> does).
    /// </summary>
    public void RestartSidecar()
    {
        _loop.Stop();
        _server.Dispose();
        Device.Dispose();
        _loop.Dispose();
        _loop = new LoopThread("media-device-loop", Timeout);
        (Device, _server) = Serve();
    }

    /// <summary>Runs <paramref name="read"/> on the device loop and returns its result.</summary>
    public T OnLoop<T>(Func<VirtioMediaDevice, T> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        return _loop.Invoke(() => read(Device));
    }

    /// <summary>Frame counters as the loop sees them now.</summary>
    public (ulong Delivered, ulong Dropped, ulong Failed, ulong Black, ulong TestPattern) Counters() =>
        OnLoop(d => (d.Counters.Delivered, d.Counters.Dropped, d.Counters.Failed, d.Counters.Black, d.Counters.TestPattern));

    public int SessionCount() => OnLoop(d => d.SessionCount);

    /// <summary>Waits until <paramref name="condition"/> holds on the loop (polling); false after <see cref="Timeout"/>.</summary>
    public bool WaitUntil(Func<VirtioMediaDevice, bool> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!OnLoop(condition))
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            Thread.Sleep(5);
        }

        return true;
    }

    // The Linux driver re-enables callbacks (used_event = what it consumed) before it sleeps; the test driver does not,
    // so with EVENT_IDX only the first completion would interrupt it. Every wait below re-arms first, as Linux does.
    private void ArmInterrupts()
    {
        Driver.CommandQueue.SetUsedEvent(Driver.CommandQueue.UsedIndex);
        Driver.EventQueue.SetUsedEvent(Driver.EventQueue.UsedIndex);
    }

    /// <summary><see cref="MediaGuestDriver.Send"/> with interrupts armed.</summary>
    public byte[] Send(ReadOnlySpan<byte> request, int responseCapacity, int readableSplit = 1)
    {
        ArmInterrupts();
        return Driver.Send(request, responseCapacity, readableSplit);
    }

    public (uint Status, uint Session) Open()
    {
        ArmInterrupts();
        return Driver.Open();
    }

    public uint OpenSession()
    {
        ArmInterrupts();
        return Driver.OpenSession();
    }

    public int Close(uint session)
    {
        ArmInterrupts();
        return Driver.Close(session);
    }

    public (uint Status, byte[] Payload) Ioctl(uint session, V4l2IoctlNumber code, ReadOnlySpan<byte> payload, int responsePayload,
        ReadOnlySpan<byte> extra = default, int readableSplit = 1)
    {
        ArmInterrupts();
        return Driver.Ioctl(session, code, payload, responsePayload, extra, readableSplit);
    }

    /// <summary><see cref="MediaGuestDriver.Mmap"/> with interrupts armed (the answer waits for the VMM's ack).</summary>
    public (uint Status, ulong DriverAddress, ulong Length) Mmap(uint session, uint offset, bool writable = true)
    {
        ArmInterrupts();
        return Driver.Mmap(session, offset, writable);
    }

    public uint Munmap(ulong driverAddress)
    {
        ArmInterrupts();
        return Driver.Munmap(driverAddress);
    }

    /// <summary>The device's shared-memory window as the loop sees it: (buffers, their bytes, mappings, lost bytes).</summary>
    public (int Buffers, ulong BufferBytes, int Mappings, ulong LostBytes) WindowState() =>
        OnLoop(d => (d.Window.BufferCount, d.Window.BufferBytes, d.Window.MappingCount, d.Window.LostBytes));

    /// <summary>An ioctl that must succeed; returns its payload.</summary>
    public byte[] IoctlOk(uint session, V4l2IoctlNumber code, ReadOnlySpan<byte> payload, int responsePayload, ReadOnlySpan<byte> extra = default)
    {
        var (status, answer) = Ioctl(session, code, payload, responsePayload, extra);
        Assert.That(status, Is.Zero, $"{code.Name()} failed");
        return answer;
    }

    public byte[]? WaitEvent(TimeSpan? timeout = null)
    {
        ArmInterrupts();
        return Driver.WaitEvent(timeout ?? Timeout);
    }

    /// <summary>Takes every event that arrives until none has come for <paramref name="quiet"/>.</summary>
    public List<byte[]> DrainEvents(TimeSpan quiet)
    {
        var events = new List<byte[]>();
        while (WaitEvent(quiet) is { } e)
        {
            events.Add(e);
        }

        return events;
    }

    /// <summary>
    /// Builds a command chain from raw guest ranges (any split, any sizes, no writable part), publishes and kicks it,
    /// and returns its used length. For commands the regular driver cannot express.
    /// </summary>
    public uint SendChain(IReadOnlyList<(ulong Gpa, uint Length)> readable, IReadOnlyList<(ulong Gpa, uint Length)> writable)
    {
        ArmInterrupts();
        var q = Driver.CommandQueue;
        var head = q.AddChain(readable, writable);
        q.Notify();
        var (usedHead, length) = q.WaitUsed(Timeout);
        Assert.That(usedHead, Is.EqualTo(head), "the device completed another chain");
        return length;
    }

    /// <summary>Copies <paramref name="bytes"/> into freshly allocated guest RAM and returns its address.</summary>
    public ulong Place(ReadOnlySpan<byte> bytes, ulong alignment = 16)
    {
        var gpa = Ram.Allocate((ulong)Math.Max(bytes.Length, 1), alignment);
        bytes.CopyTo(Ram.Span(gpa, bytes.Length));
        return gpa;
    }

    /// <summary>
    /// Publishes a command chain and kicks, without waiting for its completion (a command the device answers later),
    /// with its request and response in fresh guest RAM. Returns the head and where the response goes.
    /// </summary>
    public (ushort Head, ulong ResponseGpa) Post(ReadOnlySpan<byte> request, int responseCapacity)
    {
        ArmInterrupts();
        var requestGpa = Place(request);
        var responseGpa = Reserve(responseCapacity);
        var q = Driver.CommandQueue;
        var head = q.AddChain([(requestGpa, (uint)request.Length)], [(responseGpa, (uint)responseCapacity)]);
        q.Notify();
        return (head, responseGpa);
    }

    /// <summary>Waits for the next completion on the command queue: (head, used length).</summary>
    public (ushort Head, uint Length) WaitCompletion()
    {
        ArmInterrupts();
        return Driver.CommandQueue.WaitUsed(Timeout);
    }

    /// <summary>Allocates <paramref name="length"/> bytes of guest RAM filled with <paramref name="fill"/>.</summary>
    public ulong Reserve(int length, byte fill = 0xEE, ulong alignment = 16)
    {
        var gpa = Ram.Allocate((ulong)length, alignment);
        Ram.Span(gpa, length).Fill(fill);
        return gpa;
    }

    /// <summary>§3.3 then §3.2 with the same rings: what QEMU does for a VM stop and cont.</summary>
    public void StopVm() => Vmm.StopDriver();

    public void ContinueVm() => Vmm.StartDriver(newRings: false);

    /// <summary>A guest reboot: the rings stop, and a new driver instance starts on new rings with fresh eventq buffers.</summary>
    public void Reboot(Action? whileStopped = null)
    {
        Vmm.StopDriver();
        whileStopped?.Invoke();
        Driver = NewDriver();
        Vmm.StartDriver(newRings: true, beforeEnable: _ => Driver.PostEventBuffers());
    }

    /// <summary>Fails the test if the loop died or the device logged an error.</summary>
    public void AssertHealthy()
    {
        Assert.That(LoopFailure, Is.Null, "the device loop threw");
        var errors = LogText.Split('\n').Where(l => l.Contains(" ERROR ", StringComparison.Ordinal)).ToArray();
        Assert.That(errors, Is.Empty, "the device logged errors");
        Assert.That(OnLoop(d => d.SessionCount), Is.GreaterThanOrEqualTo(0), "the device loop no longer answers");
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            Vmm.Dispose();
            _loop.Stop();
            _server.Dispose();
            Device.Dispose();
            (Device.Options.Source as IDisposable)?.Dispose();
            _loop.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
        finally
        {
            _log.Dispose();
        }
    }

    private MediaGuestDriver NewDriver() => new(Vmm) { Timeout = Timeout };

    private (VirtioMediaDevice, VhostUserServer) Serve()
    {
        var device = new VirtioMediaDevice(_options(_loop.Loop));
        var server = VhostUserServer.Listen(SocketPath, device, _loop.Loop);
        _loop.Invoke(server.Start);
        return (device, server);
    }
}
