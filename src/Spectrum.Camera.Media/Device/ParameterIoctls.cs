using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// G/S_PARM (TIMEPERFRAME) for the device's one buffer type, the capture device's single camera input (ENUMINPUT,
/// G/S_INPUT) and the output device's single output (ENUMOUTPUT, G/S_OUTPUT). S_PARM snaps to a supported rate and
/// never fails for a valid type: Chrome treats an S_PARM failure as fatal.
/// </summary>
internal sealed class ParameterIoctls(DeviceState state)
{
    private const string InputName = "Camera";
    private const string OutputName = "Camera VM";

    public Errno Get(in V4l2StreamParm request, out V4l2StreamParm answer)
    {
        answer = default;
        if (request.Type != state.BufferType)
        {
            return Errno.EINVAL;
        }

        answer = Describe();
        return Errno.None;
    }

    public Errno Set(in V4l2StreamParm request, out V4l2StreamParm answer)
    {
        answer = default;
        if (request.Type != state.BufferType)
        {
            return Errno.EINVAL;
        }

        var interval = state.IsOutput ? request.Output.TimePerFrame : request.Capture.TimePerFrame;
        state.SetRate(state.Menu.SnapInterval(interval.Numerator, interval.Denominator));
        answer = Describe();
        return Errno.None;
    }

    public static Errno EnumerateInputs(in V4l2Input request, out V4l2Input answer) =>
        OnlyIndexZero(request.Index, V4l2Input.Create(0, InputName, V4l2.InputTypeCamera), out answer);

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

    /// <summary>The output device's one output: where the camera VM's frames go (an analog-type video output, as vivid's).</summary>
    public static Errno EnumerateOutputs(in V4l2Output request, out V4l2Output answer) =>
        OnlyIndexZero(request.Index, V4l2Output.Create(0, OutputName, V4l2.OutputTypeAnalog), out answer);

    /// <summary>G_OUTPUT comes as WR with a u32 like G_INPUT does: any request is accepted.</summary>
    public static Errno GetOutput(out uint answer) => GetInput(out answer);

    public static Errno SetOutput(uint request, out uint answer) => SetInput(request, out answer);

    /// <summary>An enumeration of exactly one entry, <paramref name="only"/> at index 0.</summary>
    private static Errno OnlyIndexZero<T>(uint index, in T only, out T answer)
        where T : unmanaged
    {
        answer = index == 0 ? only : default;
        return index == 0 ? Errno.None : Errno.EINVAL;
    }

    private V4l2StreamParm Describe()
    {
        var timePerFrame = new V4l2Fract(state.Rate.Numerator, state.Rate.Denominator);
        return state.IsOutput
            ? new V4l2StreamParm
            {
                Type = state.BufferType,
                Output = new V4l2OutputParm { Capability = V4l2.CapTimePerFrame, TimePerFrame = timePerFrame },
            }
            : new V4l2StreamParm
            {
                Type = state.BufferType,
                Capture = new V4l2CaptureParm { Capability = V4l2.CapTimePerFrame, TimePerFrame = timePerFrame },
            };
    }
}
