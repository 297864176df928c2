using Spectrum.Camera.Frames;
using Spectrum.Camera.Media.Device;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Tests.Media.Unit;

/// <summary>
/// The ioctl handlers on typed requests, without queues or guest memory: what each answers and what state it changes.
/// The same behaviours are checked byte for byte through the real vhost-user path in the component tests.
/// </summary>
public sealed class IoctlHandlerTests
{
    private static readonly StableMenu Menu = StableMenu.Default;

    [Test]
    public void Try_fmt_adjusts_to_the_menu_and_changes_nothing()
    {
        var state = new DeviceState(Menu, 8);
        var formats = new FormatIoctls(state);
        var before = state.Format;

        var errno = formats.Try(MediaRequests.FormatOf(1921, 1079, PixelFormats.Nv12), out var answer);

        Assert.That(errno, Is.EqualTo(Errno.None));
        Assert.That((answer.Pix.Width, answer.Pix.Height, answer.Pix.PixelFormat), Is.EqualTo((1920u, 1080u, PixelFormats.Nv12)));
        Assert.That(answer.Pix.SizeImage, Is.EqualTo(1920u * 1080 * 3 / 2));
        Assert.That(state.Format, Is.EqualTo(before), "TRY_FMT leaves the device format");
    }

    [Test]
    public void S_fmt_to_another_format_is_EBUSY_while_buffers_exist()
    {
        var state = new DeviceState(Menu, 8);
        var formats = new FormatIoctls(state);
        state.Queue.Reallocate(session: 1, count: 2, minLength: state.Format.SizeImage);

        Assert.That(formats.Set(MediaRequests.FormatOf(320, 240, PixelFormats.Yuyv), out _), Is.EqualTo(Errno.EBUSY));
        Assert.That(formats.Set(FormatIoctls.Describe(state.BufferType, state.Format), out _), Is.EqualTo(Errno.None), "the same format is fine");
    }

    [Test]
    public void S_parm_snaps_to_a_menu_rate_and_reports_timeperframe()
    {
        var state = new DeviceState(Menu, 8);
        var parameters = new ParameterIoctls(state);
        var request = MediaRequests.Read<V4l2StreamParm>(MediaRequests.StreamParm(1, 14));

        Assert.That(parameters.Set(request, out var answer), Is.EqualTo(Errno.None));
        Assert.That(answer.Capture.Capability, Is.EqualTo(V4l2.CapTimePerFrame));
        Assert.That((answer.Capture.TimePerFrame.Numerator, answer.Capture.TimePerFrame.Denominator), Is.EqualTo((1u, 15u)));
        Assert.That(state.Rate, Is.EqualTo(new FrameRate(1, 15)));
    }

    [Test]
    public void There_is_one_camera_input()
    {
        Assert.That(ParameterIoctls.EnumerateInputs(new V4l2Input { Index = 0 }, out var input), Is.EqualTo(Errno.None));
        Assert.That((input.NameText, input.Type), Is.EqualTo(("Camera", V4l2.InputTypeCamera)));
        Assert.That(ParameterIoctls.EnumerateInputs(new V4l2Input { Index = 1 }, out _), Is.EqualTo(Errno.EINVAL));
        Assert.That(ParameterIoctls.SetInput(1, out _), Is.EqualTo(Errno.EINVAL));
    }

    [Test]
    public void Reqbufs_of_a_second_session_is_EBUSY_and_the_owner_keeps_its_buffers()
    {
        var rig = new DispatcherRig();
        var owner = rig.Open();
        var other = rig.Open();

        var granted = rig.Ioctl(owner, V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(4));
        var refused = rig.Ioctl(other, V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(2));

        Assert.That(granted.Status, Is.EqualTo(Errno.None));
        Assert.That(MediaRequests.Read<V4l2RequestBuffers>(granted.Payload).Count, Is.EqualTo(4u));
        Assert.That(refused.Status, Is.EqualTo(Errno.EBUSY));
        Assert.That(refused.Payload, Is.Empty, "an error is the header alone");
        Assert.That((rig.State.Queue.Owner, rig.State.Queue.Allocated), Is.EqualTo(((uint?)owner, 4u)));
    }

    [Test]
    public void An_ioctl_whose_answer_does_not_fit_is_refused_before_its_handler_runs()
    {
        var rig = new DispatcherRig();
        var session = rig.Open();

        // Room for the header and 19 of REQBUFS' 20 bytes: EINVAL, and no buffers were allocated.
        var (status, payload) = rig.Ioctl(session, V4l2IoctlNumber.ReqBufs, MediaRequests.RequestBuffers(4), writable: 8 + 19);

        Assert.That(status, Is.EqualTo(Errno.EINVAL));
        Assert.That(payload, Is.Empty);
        Assert.That(rig.State.Queue.Allocated, Is.Zero);
    }
}
