using Spectrum.Camera.Frames;
using Spectrum.Camera.Media.Device;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Tests.Media;

/// <summary>
/// Gives each test its own served device (<see cref="H"/>, started on first use, or <see cref="Start"/> with other
/// options) and checks after a passing test that the device loop survived and logged no error.
/// </summary>
[NonParallelizable]
public abstract class MediaTestBase
{
    private MediaHarness? _harness;
    private uint? _session;

    /// <summary>The test's device: the test pattern on the default menu, started on first use.</summary>
    protected MediaHarness H => _harness ??= MediaHarness.Start();

    /// <summary>A session on <see cref="H"/>, opened on first use.</summary>
    protected uint Session => _session ??= H.OpenSession();

    protected MediaHarness Start(IFrameSource? source = null, StableMenu? menu = null, ulong ramSize = 64UL << 20,
        string card = "Spectrum Camera", int eventBuffers = 16, FrontendModel model = FrontendModel.Qemu10Generic,
        ulong sharedMemorySize = MediaDeviceOptions.DefaultSharedMemorySize)
    {
        _harness?.Dispose();
        _harness = null;
        _harness = MediaHarness.Start(source, menu, ramSize, card, eventBuffers, model, sharedMemorySize);
        return _harness;
    }

    [TearDown]
    public void StopDevice()
    {
        _session = null;
        try
        {
            _harness?.AssertHealthyIfPassed();
        }
        finally
        {
            _harness?.Dispose();
            _harness = null;
        }
    }

    /// <summary>Proof that the device still serves: a G_FMT on a fresh session answers the current format.</summary>
    protected void AssertStillServing()
    {
        var session = H.OpenSession();
        var (status, answer) = H.Ioctl(session, V4l2IoctlNumber.GFmt, MediaRequests.Format(0, 0, 0), V4l2Wire.FormatSize);
        Assert.That(status, Is.Zero, "G_FMT after the bad command");
        Assert.That(V4l2Wire.U32(answer, 0), Is.EqualTo(V4l2.BufTypeVideoCapture));
        Assert.That(H.Close(session), Is.Zero);
    }
}
