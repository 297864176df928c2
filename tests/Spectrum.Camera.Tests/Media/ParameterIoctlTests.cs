using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;
using static Spectrum.Camera.TestFrontend.MediaRequests;
using static Spectrum.Camera.Tests.Media.V4l2Wire;
using static Spectrum.Camera.Uapi.V4l2IoctlNumber;

namespace Spectrum.Camera.Tests.Media;

/// <summary>G/S_PARM with TIMEPERFRAME (S_PARM snaps and never fails for VIDEO_CAPTURE) and the one camera input.</summary>
public sealed class ParameterIoctlTests : MediaTestBase
{
    [Test]
    public void G_parm_answers_timeperframe_capability_and_the_default_30_fps()
    {
        AssertParm(H.IoctlOk(Session, GParm, StreamParm(0, 0), StreamParmSize), 1, 30);
    }

    // S_PARM's answer is the interval now in force; 0/0 and x/0 mean "no preference" (v4l2-compliance sends 0/0).
    [TestCase(1u, 15u, 15u)]
    [TestCase(1u, 30u, 30u)]
    [TestCase(2u, 30u, 15u)]
    [TestCase(1001u, 30000u, 30u)]
    [TestCase(1u, 1000u, 30u)]
    [TestCase(1u, 1u, 15u)]
    [TestCase(0u, 0u, 30u)]
    [TestCase(0u, 15u, 30u)]
    [TestCase(15u, 0u, 30u)]
    [TestCase(0xFFFFFFFFu, 1u, 15u)]
    [TestCase(1u, 0xFFFFFFFFu, 30u)]
    public void S_parm_snaps_to_the_nearest_menu_rate_and_never_fails(uint numerator, uint denominator, uint fps)
    {
        AssertParm(H.IoctlOk(Session, SParm, StreamParm(numerator, denominator), StreamParmSize), 1, fps);
        AssertParm(H.IoctlOk(H.OpenSession(), GParm, StreamParm(0, 0), StreamParmSize), 1, fps);
    }

    [Test]
    public void S_parm_zero_over_zero_goes_back_to_the_default_rate()
    {
        AssertParm(H.IoctlOk(Session, SParm, StreamParm(1, 15), StreamParmSize), 1, 15);
        AssertParm(H.IoctlOk(Session, SParm, StreamParm(0, 0), StreamParmSize), 1, 30);
    }

    [Test]
    public void S_parm_ignores_every_other_field_of_the_request()
    {
        var parm = Read<V4l2StreamParm>(StreamParm(1, 15));
        parm.Capture.Capability = 0xFFFFFFFF;
        parm.Capture.CaptureMode = 1; // HIGHQUALITY
        var request = Bytes(parm);
        request.AsSpan(20).Fill(0xA5); // extendedmode, readbuffers, reserved and the rest of the union
        AssertParm(H.IoctlOk(Session, SParm, request, StreamParmSize), 1, 15);
    }

    [TestCase(0u)]
    [TestCase(V4l2.BufTypeVideoOutput)]
    [TestCase(V4l2.BufTypeVideoCaptureMplane)]
    public void G_and_s_parm_refuse_other_types(uint type)
    {
        Assert.That(H.Ioctl(Session, GParm, StreamParm(0, 0, type), StreamParmSize).Status, Is.EqualTo(EINVAL));
        Assert.That(H.Ioctl(Session, SParm, StreamParm(1, 15, type), StreamParmSize).Status, Is.EqualTo(EINVAL));
        AssertParm(H.IoctlOk(Session, GParm, StreamParm(0, 0), StreamParmSize), 1, 30);
    }

    [Test]
    public void Enuminput_has_exactly_one_camera_input()
    {
        var answer = H.IoctlOk(Session, EnumInput, Input(0), InputSize);
        Assert.That(answer, Has.Length.EqualTo(InputSize));
        Assert.That(U32(answer, 0), Is.Zero, "index");
        Assert.That(CString(answer.AsSpan(4), 32), Is.EqualTo("Camera"));
        Assert.That(U32(answer, 36), Is.EqualTo(V4l2.InputTypeCamera));
        // audioset, tuner, std (u64 at +48), status, capabilities and reserved are all 0.
        AssertZeroOutside(answer, "v4l2_input", (4, 32), (36, 4));

        Assert.That(H.Ioctl(Session, EnumInput, Input(1), InputSize).Status, Is.EqualTo(EINVAL));
        Assert.That(H.Ioctl(Session, EnumInput, Input(0xFFFFFFFF), InputSize).Status, Is.EqualTo(EINVAL));
    }

    [Test]
    public void G_input_is_zero_whether_sent_as_R_or_as_the_Linux_driver_s_WR()
    {
        Assert.That(H.IoctlOk(Session, GInput, [], 4), Is.EqualTo(new byte[4]), "R: no payload");
        Assert.That(H.IoctlOk(Session, GInput, Word(7), 4), Is.EqualTo(new byte[4]), "WR with a u32 (ignored)");
    }

    [Test]
    public void S_input_accepts_input_zero_only()
    {
        Assert.That(H.IoctlOk(Session, SInput, Word(0), 4), Is.EqualTo(new byte[4]));
        Assert.That(H.Ioctl(Session, SInput, Word(1), 4).Status, Is.EqualTo(EINVAL));
        Assert.That(H.Ioctl(Session, SInput, Word(0xFFFFFFFF), 4).Status, Is.EqualTo(EINVAL));
        Assert.That(H.Ioctl(Session, SInput, [], 4).Status, Is.EqualTo(EINVAL), "no payload");
    }

    /// <summary>v4l2_streamparm: type +0, capability +4, capturemode +8, timeperframe +12/+16, extendedmode +20, readbuffers +24.</summary>
    private static void AssertParm(byte[] answer, uint numerator, uint denominator)
    {
        Assert.That(answer, Has.Length.EqualTo(StreamParmSize));
        AssertWords(answer, (0, V4l2.BufTypeVideoCapture, "type"), (4, V4l2.CapTimePerFrame, "capability"), (12, numerator, "timeperframe.numerator"),
            (16, denominator, "timeperframe.denominator"));
        AssertZeroOutside(answer, "v4l2_streamparm", (0, 8), (12, 8));
    }
}
