using System.Diagnostics;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;
using Spectrum.Camera.Sources;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Tests.Cli;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;
using static Spectrum.Camera.Uapi.V4l2IoctlNumber;

namespace Spectrum.Camera.Tests.Sandbox;

/// <summary>
/// `spectrum-camera serve` with its sandbox on (the default), as a process: a guest streams real frames through it in
/// several formats, it reconnects to and takes camera frames from a real camera service, and it stops on SIGTERM.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SandboxedServeTests
{
    private const string SandboxLine = "sandbox: no_new_privs + seccomp allowlist of";

    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("spectrum-sandbox-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    public void A_sandboxed_sidecar_streams_test_pattern_frames_in_every_format_then_exits_zero()
    {
        var socket = Path.Combine(_dir, "cam.sock");
        using var sidecar = SidecarProcess.Start("serve", "--socket-path", socket, "--vm", "sandboxed");
        sidecar.WaitForSocket(socket);
        int delivered;
        using (var guest = new StreamingGuest(socket))
        {
            foreach (var (format, width, height) in new[] { (Yuyv, 640u, 480u), (Nv12, 1280u, 720u), (Yu12, 320u, 240u) })
            {
                var frames = guest.Capture(format, width, height, count: 15);
                Assert.That(frames.Count(f => TestPatternVerifier.TryDecode(new FrameFormat(format, width, height), f, out _, out _)),
                    Is.EqualTo(15), $"test-pattern frames in {width}x{height}");
            }

            delivered = guest.FramesReceived;
        }

        Assert.That(sidecar.WaitForExit(TimeSpan.FromSeconds(30)), Is.True, sidecar.Stderr);
        Assert.That(sidecar.ExitCode, Is.Zero, sidecar.Stderr);

        // Every frame the sidecar counts as delivered reached the guest as an EVT_DQBUF (the ones that landed between
        // the fifteenth frame and STREAMOFF included), every one the test pattern, none failed. Frame periods in which
        // the guest had no buffer queued are dropped by design (a sequence gap), so their number is not fixed.
        Assert.That(delivered, Is.GreaterThanOrEqualTo(45));
        Assert.That(sidecar.Stderr, Does.Contain(SandboxLine).And.Contain("VMM connected")
            .And.Match($@"exiting: {delivered} frames delivered \({delivered} test pattern, 0 black, 0 camera\), \d+ dropped, 0 failed, \d+ discarded"));
        Assert.That(File.Exists(socket), Is.False, "the sandboxed sidecar still removes its socket");
    }

    [Test]
    public void A_sandboxed_sidecar_connects_to_a_real_camera_service_and_delivers_camera_frames_until_sigterm()
    {
        var runtime = Directory.CreateDirectory(Path.Combine(_dir, "run")).FullName;
        var state = Directory.CreateDirectory(Path.Combine(_dir, "state")).FullName;
        var socket = Path.Combine(_dir, "cam.sock");
        using var service = SidecarProcess.Start("camera-service", "--vm", "boxed", "--camera", "test-pattern",
            "--runtime-dir", runtime, "--state-dir", state);
        service.WaitForSocket(Path.Combine(runtime, "operator.sock"));
        var (allowCode, allowOut, allowErr) = SidecarProcess.Run("ctl", "--operator-socket", Path.Combine(runtime, "operator.sock"), "allow", "boxed");
        Assert.That(allowCode, Is.Zero, allowOut + allowErr);

        using var sidecar = SidecarProcess.Start("serve", "--socket-path", socket, "--vm", "boxed",
            "--camera-service", Path.Combine(runtime, "vms", "boxed.sock"));
        sidecar.WaitForSocket(socket);
        using (var guest = new StreamingGuest(socket))
        {
            var deadline = Stopwatch.StartNew();
            var camera = 0;
            while (camera < 10 && deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                // The camera service's test-pattern feed decodes like the sidecar's own pattern; black means not yet.
                camera += guest.Capture(Yuyv, 640, 480, count: 10)
                    .Count(f => !TestPatternVerifier.IsBlack(new FrameFormat(Yuyv, 640, 480), f));
            }

            Assert.That(camera, Is.GreaterThanOrEqualTo(10), sidecar.Stderr);
            sidecar.Signal(15);
            Assert.That(sidecar.WaitForExit(TimeSpan.FromSeconds(30)), Is.True, sidecar.Stderr);
        }

        Assert.That(sidecar.ExitCode, Is.Zero, sidecar.Stderr);
        Assert.That(sidecar.Stderr, Does.Contain(SandboxLine).And.Contain("connected to the camera service")
            .And.Contain("SIGTERM received").And.Match(@"exiting: \d+ frames delivered \(0 test pattern, \d+ black, [1-9]\d* camera\)"));
        service.Signal(15);
        Assert.That(service.WaitForExit(TimeSpan.FromSeconds(30)), Is.True, service.Stderr);
    }

    [Test]
    public void No_sandbox_is_logged_and_the_flags_are_in_the_help()
    {
        var socket = Path.Combine(_dir, "plain.sock");
        using (var sidecar = SidecarProcess.Start("serve", "--socket-path", socket, "--vm", "plain", "--no-sandbox"))
        {
            sidecar.WaitForSocket(socket);
            Assert.That(SpinWait.SpinUntil(() => sidecar.Stderr.Contains("--no-sandbox: running without", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30)), Is.True, sidecar.Stderr);
            sidecar.Signal(15);
            Assert.That(sidecar.WaitForExit(TimeSpan.FromSeconds(30)), Is.True);
            Assert.That(sidecar.ExitCode, Is.Zero, sidecar.Stderr);
            Assert.That(sidecar.Stderr, Does.Not.Contain(SandboxLine));
        }

        var (code, stdout, _) = SidecarProcess.Run("serve", "--help");
        Assert.That(code, Is.Zero);
        Assert.That(stdout, Does.Contain("--no-sandbox").And.Contain("--require-sandbox"));
        var (both, _, stderr) = SidecarProcess.Run("serve", "--socket-path", socket, "--vm", "v", "--no-sandbox", "--require-sandbox");
        Assert.That(both, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("contradict"));
    }

    /// <summary>The VMM and a USERPTR capture application in the guest, against a sidecar process's socket.</summary>
    private sealed class StreamingGuest : IDisposable
    {
        private readonly TestVmm _vmm;
        private readonly MediaGuestDriver _driver;

        /// <summary>EVT_DQBUF events received, including those drained after each STREAMOFF.</summary>
        public int FramesReceived { get; private set; }

        public StreamingGuest(string socket)
        {
            _vmm = new TestVmm(socket, [256, 256]);
            _vmm.Client.ReplyTimeout = TimeSpan.FromSeconds(10);
            _vmm.Initialize();
            _driver = new MediaGuestDriver(_vmm);
            _vmm.StartDriver(newRings: true, beforeEnable: _ => _driver.PostEventBuffers(16, kick: false));
        }

        /// <summary>One session: S_FMT, four scattered USERPTR buffers, STREAMON, <paramref name="count"/> frames, STREAMOFF.</summary>
        public List<byte[]> Capture(uint format, uint width, uint height, int count)
        {
            var session = Arm(() => _driver.OpenSession());
            AssertFormat(IoctlOk(session, SFmt, Format(width, height, format), FormatSize), format, width, height);
            Assert.That(U32(IoctlOk(session, ReqBufs, RequestBuffers(4), RequestBuffersSize), 0), Is.EqualTo(4u));
            var size = PackedSize(format, width, height);
            var buffers = Enumerable.Range(0, 4).Select(_ => new GuestFrameBuffer(_vmm.Ram, size)).ToList();
            for (var i = 0; i < buffers.Count; i++)
            {
                Queue(session, buffers, i);
            }

            Assert.That(Arm(() => _driver.Ioctl(session, StreamOn, Word(V4l2.BufTypeVideoCapture), 0)).Status, Is.Zero, "STREAMON");
            var frames = new List<byte[]>();
            while (frames.Count < count)
            {
                var e = Arm(() => _driver.WaitEvent(TimeSpan.FromSeconds(10))) ?? throw new TimeoutException("no frame from the sidecar");
                AssertFrameEvent(e, session);
                var index = (int)U32(e, 8);
                Assert.That(U32(e, 8 + 8), Is.EqualTo(size), "bytesused");
                frames.Add(buffers[index].Read((int)size));
                Queue(session, buffers, index);
            }

            Assert.That(Arm(() => _driver.Ioctl(session, StreamOff, Word(V4l2.BufTypeVideoCapture), 0)).Status, Is.Zero, "STREAMOFF");

            // Frames completed after the last one wanted and before STREAMOFF are already in the event queue: take them
            // now, so the next session never mistakes them for its own.
            while (Arm(() => _driver.WaitEvent(TimeSpan.FromMilliseconds(200))) is { } late)
            {
                AssertFrameEvent(late, session);
            }

            Assert.That(Arm(() => _driver.Close(session)), Is.Zero);
            return frames;
        }

        public void Dispose()
        {
            try
            {
                _vmm.StopDriver();
            }
            catch (NativeException e) when (e.IsPeerGone)
            {
                // The sidecar has already gone (SIGTERM): nothing to stop.
            }

            _vmm.Dispose();
        }

        private void AssertFrameEvent(byte[] e, uint session)
        {
            Assert.That(U32(e, 0), Is.EqualTo(1u), "EVT_DQBUF");
            Assert.That(U32(e, 4), Is.EqualTo(session), "the event belongs to the capturing session");
            FramesReceived++;
        }

        private void Queue(uint session, List<GuestFrameBuffer> buffers, int index) =>
            IoctlOk(session, QBuf, Buffer((uint)index, UserPtrOf(index), buffers[index].Length), BufferSize,
                buffers[index].SgList());

        private byte[] IoctlOk(uint session, V4l2IoctlNumber code, byte[] payload, int responsePayload, byte[]? extra = null)
        {
            var (status, answer) = Arm(() => _driver.Ioctl(session, code, payload, responsePayload, extra));
            Assert.That(status, Is.Zero, $"{code.Name()}");
            return answer;
        }

        // Ask for an interrupt on the next used buffer of both queues (event-idx), as the in-process harness does.
        private T Arm<T>(Func<T> call)
        {
            _driver.CommandQueue.SetUsedEvent(_driver.CommandQueue.UsedIndex);
            _driver.EventQueue.SetUsedEvent(_driver.EventQueue.UsedIndex);
            return call();
        }
    }
}
