using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// G/S_PARM (TIMEPERFRAME) and the single camera input (ENUMINPUT, G/S_INPUT). S_PARM snaps to a supported rate and
/// never fails for a valid type: Chrome treats an S_PARM failure as fatal.
/// </summary>
internal sealed class ParameterIoctls(CaptureState state)
{
    private const string InputName = "Camera";

    public Errno Get(in V4l2StreamParm request, out V4l2StreamParm answer)
    {
        answer = default;
        if (request.Type != V4l2.BufTypeVideoCapture)
        {
            return Errno.EINVAL;
        }

        answer = Describe();
        return Errno.None;
    }

    public Errno Set(in V4l2StreamParm request, out V4l2StreamParm answer)
    {
        answer = default;
        if (request.Type != V4l2.BufTypeVideoCapture)
        {
            return Errno.EINVAL;
        }

        var interval = request.Capture.TimePerFrame;
        state.SetRate(state.Menu.SnapInterval(interval.Numerator, interval.Denominator));
        answer = Describe();
        return Errno.None;
    }

    public static Errno EnumerateInputs(in V4l2Input request, out V4l2Input answer)
    {
        answer = default;
        if (request.Index != 0)
        {
            return Errno.EINVAL;
        }

        answer = V4l2Input.Create(0, InputName, V4l2.InputTypeCamera);
        return Errno.None;
    }

    /// <summary>The Linux driver sends G_INPUT as WR with a u32 although V4L2 defines it R: any request is accepted.</summary>
    public static Errno GetInput(out uint answer)
    {
        answer = 0;
        return Errno.None;
    }

    public static Errno SetInput(uint request, out uint answer)
    {
        answer = 0;
        return request == 0 ? Errno.None : Errno.EINVAL;
    }

    private V4l2StreamParm Describe() => new()
    {
        Type = V4l2.BufTypeVideoCapture,
        Capture = new V4l2CaptureParm
        {
            Capability = V4l2.CapTimePerFrame,
            TimePerFrame = new V4l2Fract(state.Rate.Numerator, state.Rate.Denominator),
        },
    };
}
