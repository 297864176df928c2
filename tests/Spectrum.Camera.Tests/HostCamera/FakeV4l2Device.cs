using Spectrum.Camera.Host;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.Native;

namespace Spectrum.Camera.Tests.Host;

/// <summary>
/// Scripted answers to the enumeration ioctls, as a driver gives them: EINVAL past the last index, stepwise and
/// continuous answers at index 0 only. Counts the calls so tests can check the enumeration is bounded.
/// </summary>
internal sealed class FakeV4l2Device : IV4l2Query
{
    public V4l2Capability Capability { get; set; } = V4l2Capability.Create(
        "uvcvideo", "HD Pro Webcam C920", "usb-0000:00:14.0-1",
        V4l2.CapVideoCapture | V4l2.CapStreaming | V4l2.CapDeviceCaps | 0x00800000,
        V4l2.CapVideoCapture | V4l2.CapStreaming);

    public int CapabilityErrno { get; set; }

    public List<V4l2FmtDesc> Formats { get; } = [];

    /// <summary>Frame-size answers per fourcc, in index order.</summary>
    public Dictionary<uint, List<V4l2FrmSizeEnum>> Sizes { get; } = [];

    /// <summary>Interval answers per (fourcc, width, height), in index order; a missing key answers EINVAL at once.</summary>
    public Dictionary<(uint, uint, uint), List<V4l2FrmIvalEnum>> Intervals { get; } = [];

    /// <summary>When set, ENUM_FRAMESIZES answers this for every index (a driver that never says EINVAL).</summary>
    public V4l2FrmSizeEnum? EndlessSize { get; set; }

    public int FrameSizeCalls { get; private set; }

    public int QueryCapability(out V4l2Capability capability)
    {
        capability = Capability;
        return CapabilityErrno;
    }

    public int EnumFormat(ref V4l2FmtDesc format)
    {
        if (format.Index >= Formats.Count)
        {
            return Errnos.EINVAL;
        }

        var index = format.Index;
        format = Formats[(int)index];
        format.Index = index;
        return 0;
    }

    public int EnumFrameSize(ref V4l2FrmSizeEnum size)
    {
        FrameSizeCalls++;
        var index = size.Index;
        if (EndlessSize is { } endless)
        {
            size = endless;
            size.Index = index;
            return 0;
        }

        if (!Sizes.TryGetValue(size.PixelFormat, out var list) || index >= list.Count)
        {
            return Errnos.EINVAL;
        }

        size = list[(int)index];
        size.Index = index;
        return 0;
    }

    public int EnumFrameInterval(ref V4l2FrmIvalEnum interval)
    {
        var index = interval.Index;
        if (!Intervals.TryGetValue((interval.PixelFormat, interval.Width, interval.Height), out var list) || index >= list.Count)
        {
            return Errnos.EINVAL;
        }

        interval = list[(int)index];
        interval.Index = index;
        return 0;
    }

    /// <summary>Adds a format with discrete sizes, each with discrete intervals given in frames per second.</summary>
    public FakeV4l2Device AddDiscrete(uint fourcc, string description, bool compressed, params (uint W, uint H, uint[] Fps)[] sizes)
    {
        Formats.Add(V4l2FmtDesc.Create(fourcc, description, compressed ? V4l2.FmtFlagCompressed : 0));
        Sizes[fourcc] = [.. sizes.Select(s => new V4l2FrmSizeEnum
        {
            PixelFormat = fourcc, Type = V4l2.FrmSizeTypeDiscrete, DiscreteWidth = s.W, DiscreteHeight = s.H,
        })];
        foreach (var (w, h, fps) in sizes)
        {
            Intervals[(fourcc, w, h)] = [.. fps.Select(f => Discrete(fourcc, w, h, 1, f))];
        }

        return this;
    }

    /// <summary>Adds a format whose sizes are one stepwise or continuous range (answered at index 0 only).</summary>
    public FakeV4l2Device AddRange(uint fourcc, uint type, (uint Min, uint Max, uint Step) width, (uint Min, uint Max, uint Step) height)
    {
        Formats.Add(V4l2FmtDesc.Create(fourcc, "ranged"));
        Sizes[fourcc] =
        [
            new V4l2FrmSizeEnum
            {
                PixelFormat = fourcc, Type = type, MinWidth = width.Min, MaxWidth = width.Max, StepWidth = width.Step,
                MinHeight = height.Min, MaxHeight = height.Max, StepHeight = height.Step,
            },
        ];
        return this;
    }

    public static V4l2FrmIvalEnum Discrete(uint fourcc, uint w, uint h, uint numerator, uint denominator) => new()
    {
        PixelFormat = fourcc, Width = w, Height = h, Type = V4l2.FrmIvalTypeDiscrete,
        Discrete = new V4l2Fract(numerator, denominator),
    };
}
