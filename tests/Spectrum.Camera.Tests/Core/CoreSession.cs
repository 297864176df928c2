using Spectrum.Camera.Native;
using Spectrum.Camera.TestFrontend;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// One VM lifetime against the real backend: a <see cref="BackendHarness"/>, a <see cref="TestVmm"/> (QEMU's message
/// sequences over the real socket, memfd RAM with the VGA hole, real eventfds) and a <see cref="GuestCanary"/> over
/// all guest RAM. Helpers drive the echo and event queues as a guest driver would.
/// </summary>
internal sealed class CoreSession : IDisposable
{
    public static readonly ushort[] DefaultQueueSizes = [128, 16];

    public CoreSession(bool replyAck = true, bool start = true, ushort[]? queueSizes = null, ulong guestFeatures = TestVmm.LinuxGuestFeatures,
        ulong sharedMemorySize = 0, FrontendModel model = FrontendModel.Qemu10Generic)
    {
        Harness = new BackendHarness(sharedMemorySize);
        try
        {
            Vmm = new TestVmm(Harness.SocketPath, queueSizes ?? DefaultQueueSizes, model: model);
            Canary = new GuestCanary(Vmm.Ram);
            Vmm.Initialize(replyAck);
            if (start)
            {
                StartDriver(newRings: true, guestFeatures);
            }
        }
        catch
        {
            Vmm?.Dispose();
            Harness.Dispose();
            throw;
        }
    }

    public BackendHarness Harness { get; }

    public TestVmm Vmm { get; }

    public GuestCanary Canary { get; }

    public VhostUserClient Client => Vmm.Client;

    public GuestRam Ram => Vmm.Ram;

    public GuestVirtqueue EchoQueue => Vmm.Queues[EchoEventDevice.EchoQueue];

    public GuestVirtqueue EventQueue => Vmm.Queues[EchoEventDevice.EventQueue];

    public LogCapture Log => Harness.Log;

    /// <summary>
    /// §3.2 driver start. New rings are zeroed and allowed in the canary; each queue's err eventfd is the guest's own
    /// so tests can see the backend signal it. <paramref name="beforeEnable"/> runs before SET_VRING_ENABLE.
    /// </summary>
    public void StartDriver(bool newRings, ulong guestFeatures = TestVmm.LinuxGuestFeatures, Action<CoreSession>? beforeEnable = null)
    {
        Vmm.StartDriver(newRings, guestFeatures, _ =>
        {
            for (var i = 0; i < Vmm.Queues.Length; i++)
            {
                if (newRings)
                {
                    Canary.AdoptRings(Vmm.Queues[i]);
                }

                Expect(Client.SendU64(VhostUserClient.SetVringErr, (ulong)i, [Vmm.Queues[i].Err.Fd]));
            }

            beforeEnable?.Invoke(this);
        });
    }

    /// <summary>§3.3 then §3.2 with new rings and base 0: a guest reboot or driver reload.</summary>
    public void RestartDriver()
    {
        Vmm.StopDriver();
        StartDriver(newRings: true);
    }

    /// <summary>Writes <paramref name="data"/> into a fresh guest buffer (allowed in the canary) and returns its gpa.</summary>
    public ulong GuestData(ReadOnlySpan<byte> data)
    {
        var gpa = Canary.Buffer((ulong)Math.Max(1, data.Length));
        data.CopyTo(Ram.Span(gpa, data.Length));
        return gpa;
    }

    /// <summary>Posts [readable request][writable response] on the echo queue without kicking; returns the head.</summary>
    public (ushort Head, ulong ResponseGpa) PostEcho(ReadOnlySpan<byte> request, uint responseLength)
    {
        var requestGpa = GuestData(request);
        var responseGpa = Canary.Buffer(responseLength);
        var head = EchoQueue.AddChain([(requestGpa, (uint)request.Length)], [(responseGpa, responseLength)]);
        return (head, responseGpa);
    }

    /// <summary>Round trip on the echo queue; returns what the device wrote.</summary>
    public byte[] Echo(ReadOnlySpan<byte> request, uint responseLength)
    {
        var (head, responseGpa) = PostEcho(request, responseLength);
        EchoQueue.Notify();
        var (usedHead, written) = EchoQueue.WaitUsed(TestWait.Bound);
        Assert.That(usedHead, Is.EqualTo(head), "used element names the head we posted");
        return Ram.Span(responseGpa, (int)written).ToArray();
    }

    /// <summary>Posts one device-writable event buffer; returns head and gpa.</summary>
    public (ushort Head, ulong Gpa) PostEventBuffer(uint length = 32)
    {
        var gpa = Canary.Buffer(length);
        return (EventQueue.AddChain([], [(gpa, length)]), gpa);
    }

    /// <summary>Number of event buffers the device holds.</summary>
    public int HeldEvents() => Harness.OnLoop(() => Harness.Device.HeldEvents);

    /// <summary>Asks the device to complete its oldest held event buffer with <paramref name="payload"/>.</summary>
    public bool SendEvent(byte[] payload) => Harness.OnLoop(() => Harness.Device.CompleteEvent(payload));

    /// <summary>True once the backend has stopped queue <paramref name="index"/> for a violation.</summary>
    public bool WaitBroken(int index) =>
        SpinWait.SpinUntil(() => Harness.OnLoop(() => Harness.Device.Queue(index)?.IsBroken == true), TestWait.Bound);

    public byte[] ReadConfig() => Client.GetConfigBytes(0, 40);

    /// <summary>The echo queue answers a request correctly.</summary>
    public void AssertEchoWorks()
    {
        byte[] request = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        Assert.That(Echo(request, 16), Is.EqualTo(request.Reverse().ToArray()), "echo queue serves requests");
    }

    /// <summary>The event queue takes a buffer and completes it on demand.</summary>
    public void AssertEventQueueWorks()
    {
        var (head, gpa) = PostEventBuffer(16);
        EventQueue.Notify();
        Assert.That(SpinWait.SpinUntil(() => HeldEvents() > 0, TestWait.Bound), Is.True, "event buffer taken");
        byte[] payload = [0xE1, 0xE2, 0xE3];
        Assert.That(SendEvent(payload), Is.True);
        var (usedHead, written) = EventQueue.WaitUsed(TestWait.Bound);
        Assert.Multiple(() =>
        {
            Assert.That(usedHead, Is.EqualTo(head));
            Assert.That(written, Is.EqualTo(3u));
            Assert.That(Ram.Span(gpa, 3).ToArray(), Is.EqualTo(payload));
        });
    }

    /// <summary>GET_CONFIG answers with the device's exact config bytes.</summary>
    public void AssertConfigAnswers()
    {
        var reply = ReadConfig();
        Assert.That(reply.AsSpan(12).ToArray(), Is.EqualTo(EchoEventDevice.ExpectedConfig.ToArray()), "GET_CONFIG still answers");
    }

    /// <summary>No exception escaped the loop, the connection lives, and no unallowed guest byte changed.</summary>
    public void AssertBackendIntact()
    {
        Harness.Sync();
        Assert.Multiple(() =>
        {
            Assert.That(Harness.LoopException, Is.Null, "no exception escaped the device loop");
            Assert.That(Harness.Disconnect, Is.Null, "the connection is still served");
            Assert.That(Canary.FirstDamage(), Is.Null, "no write outside the chains (canary intact)");
        });
    }

    public void Dispose()
    {
        Vmm.Dispose();
        Harness.Dispose();
    }

    private static void Expect(ulong ack)
    {
        if (ack != 0)
        {
            throw new InvalidOperationException($"backend refused a start message (ack {ack})");
        }
    }
}

/// <summary>
/// Warms up every lazily opened runtime resource once per process, so that fd counts taken before and after a test
/// measure only what the test itself opened and closed.
/// </summary>
internal static class CoreWarmUp
{
    private static bool _done;

    public static void Once()
    {
        if (_done)
        {
            return;
        }

        using (var s = new CoreSession())
        {
            s.AssertEchoWorks();
            s.AssertEventQueueWorks();
            s.Vmm.StopDriver();
        }

        _ = FdHandle.CountOpenFds();
        _done = true;
    }
}
