using NUnit.Framework.Interfaces;
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
/// One device served for real: a <see cref="MediaDevice"/> (the capture device, <see cref="MediaHarness"/>, or the output
/// device, Output.OutputHarness) behind a <see cref="VhostUserBackend"/> on its own <see cref="EventLoop"/> thread,
/// listening on a temporary Unix socket, with a <see cref="TestVmm"/> connected to it (memfd guest RAM, eventfds,
/// QEMU's message sequences) and a <see cref="MediaGuestDriver"/> playing the guest driver. Device state is read on
/// the loop thread only (<see cref="OnLoop{T}"/>).
/// </summary>
/// <remarks>
/// The log is process-wide: the harness captures it (<see cref="LogCapture"/>) for its lifetime, so fixtures using it
/// must not run in parallel with each other.
/// </remarks>
public abstract class DeviceHarness<TDevice> : IDisposable
    where TDevice : MediaDevice
{
    private static readonly TimeSpan Timeout = MediaHarness.Timeout;

    private readonly string _directory;
    private readonly Func<EventLoop, TDevice> _device;
    private readonly LogCapture _log = new();
    private LoopThread _loop = new("media-device-loop", Timeout);
    private VhostUserServer _server;
    private bool _disposed;

    private protected DeviceHarness(Func<EventLoop, TDevice> device, ulong ramSize, int eventBuffers, FrontendModel model)
    {
        _directory = Directory.CreateTempSubdirectory("spectrum-media-").FullName;
        _device = device;
        SocketPath = Path.Combine(_directory, "camera.sock");
        (Device, _server) = Serve();
        Vmm = new TestVmm(SocketPath, model == FrontendModel.Qemu112Media ? MediaHarness.MediaDeviceQueueSizes : MediaHarness.QueueSizes,
            ramSize, model);
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
    public TDevice Device { get; private set; }

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
    public T OnLoop<T>(Func<TDevice, T> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        return _loop.Invoke(() => read(Device));
    }

    public int SessionCount() => OnLoop(d => d.SessionCount);

    /// <summary>Waits until <paramref name="condition"/> holds on the loop (polling); false after <see cref="Timeout"/>.</summary>
    public bool WaitUntil(Func<TDevice, bool> condition)
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

    // Every wait below re-arms interrupts first, as the Linux driver does before it sleeps.
    private void ArmInterrupts() => Driver.ArmInterrupts();

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

    /// <summary>At a test's end: if the test passed so far, checks that the device survived it (<see cref="AssertHealthy"/>).</summary>
    public void AssertHealthyIfPassed()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == TestStatus.Passed)
        {
            AssertHealthy();
        }
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
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (_disposed || !disposing)
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
            DisposeEnds();
            _loop.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
        finally
        {
            _log.Dispose();
        }
    }

    /// <summary>Disposes what the device was built on (its frame source or destination), once the loop has stopped.</summary>
    private protected abstract void DisposeEnds();

    private MediaGuestDriver NewDriver() => new(Vmm) { Timeout = Timeout };

    private (TDevice, VhostUserServer) Serve()
    {
        var device = _device(_loop.Loop);
        var server = VhostUserServer.Listen(SocketPath, device, _loop.Loop);
        _loop.Invoke(server.Start);
        return (device, server);
    }
}
