using Spectrum.Camera.Media.Protocol;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>
/// G/S_PARM (TIMEPERFRAME) and the single camera input (ENUMINPUT, G/S_INPUT). S_PARM snaps to a supported rate and
/// never fails for a valid type: Chrome treats an S_PARM failure as fatal.
/// </summary>
internal sealed class ParameterIoctls(CaptureState state)
{
    private static readonly byte[] InputName = "Camera"u8.ToArray();

    public IEnumerable<IoctlEntry> Entries =>
    [
        new(V4l2IoctlNumber.GParm, V4l2.StreamParmSize, V4l2.StreamParmSize, GetParm),
        new(V4l2IoctlNumber.SParm, V4l2.StreamParmSize, V4l2.StreamParmSize, SetParm),
        new(V4l2IoctlNumber.EnumInput, V4l2.InputSize, V4l2.InputSize, EnumInput),
        // The Linux driver sends G_INPUT as WR with a u32 although V4L2 defines it R: accept any input.
        new(V4l2IoctlNumber.GInput, 0, 4, GetInput),
        new(V4l2IoctlNumber.SInput, 4, 4, SetInput),
    ];

    private Errno GetParm(ref IoctlContext c)
    {
        if (Le.U32(c.Input, 0) != V4l2.BufTypeVideoCapture)
        {
            return Errno.EINVAL;
        }

        WriteParm(c.Output);
        return Errno.None;
    }

    /// <summary>v4l2_streamparm: type +0; v4l2_captureparm at +4: capability +4, capturemode +8, timeperframe +12.</summary>
    private Errno SetParm(ref IoctlContext c)
    {
        if (Le.U32(c.Input, 0) != V4l2.BufTypeVideoCapture)
        {
            return Errno.EINVAL;
        }

        state.SetRate(state.Menu.SnapInterval(Le.U32(c.Input, 12), Le.U32(c.Input, 16)));
        WriteParm(c.Output);
        return Errno.None;
    }

    private void WriteParm(Span<byte> output)
    {
        Le.Put(output, 0, V4l2.BufTypeVideoCapture);
        Le.Put(output, 4, V4l2.CapTimePerFrame);
        Le.Put(output, 12, state.Rate.Numerator);
        Le.Put(output, 16, state.Rate.Denominator);
    }

    /// <summary>v4l2_input: index +0, name[32] +4, type +36, audioset +40, tuner +44, std +48, status +56, capabilities +60.</summary>
    private static Errno EnumInput(ref IoctlContext c)
    {
        if (Le.U32(c.Input, 0) != 0)
        {
            return Errno.EINVAL;
        }

        InputName.CopyTo(c.Output[4..]);
        Le.Put(c.Output, 36, V4l2.InputTypeCamera);
        return Errno.None;
    }

    private static Errno GetInput(ref IoctlContext c)
    {
        Le.Put(c.Output, 0, 0);
        return Errno.None;
    }

    private static Errno SetInput(ref IoctlContext c) => Le.U32(c.Input, 0) == 0 ? Errno.None : Errno.EINVAL;
}
