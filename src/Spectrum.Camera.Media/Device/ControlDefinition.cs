using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Media.Device;

/// <summary>One V4L2 control of a device, as QUERYCTRL and QUERY_EXT_CTRL describe it.</summary>
internal readonly record struct ControlDefinition(uint Id, string Name, uint Type, int Minimum, int Maximum, int Step, int DefaultValue,
    uint Flags)
{
    public bool IsReadOnly => (Flags & V4l2.CtrlFlagReadOnly) != 0;

    public bool IsWriteOnly => (Flags & V4l2.CtrlFlagWriteOnly) != 0;

    /// <summary>A class control only names its class: it has no value and sends no events.</summary>
    public bool IsClass => Type == V4l2.CtrlTypeCtrlClass;

    /// <summary>A control the kernel's control framework counts as driver-private (the old PRIVATE_BASE ids reach these).</summary>
    public bool IsDriverPrivate => (Id & 0xffff) >= 0x1000;

    public V4l2QueryCtrl Describe(uint answeredId)
    {
        var answer = new V4l2QueryCtrl
        {
            Id = answeredId,
            Type = Type,
            Minimum = Minimum,
            Maximum = Maximum,
            Step = Step,
            DefaultValue = DefaultValue,
            Flags = Flags,
        };
        answer.SetName(Name);
        return answer;
    }

    /// <summary>The 64-bit description; a plain control is one element of a 32-bit value (the kernel says the same of a class control).</summary>
    public V4l2QueryExtCtrl DescribeExtended(uint answeredId)
    {
        var answer = new V4l2QueryExtCtrl
        {
            Id = answeredId,
            Type = Type,
            Minimum = Minimum,
            Maximum = Maximum,
            Step = (ulong)Step,
            DefaultValue = DefaultValue,
            Flags = Flags,
            ElemSize = sizeof(int),
            Elems = 1,
        };
        answer.SetName(Name);
        return answer;
    }

    /// <summary>The control part of a V4L2_EVENT_CTRL reporting <paramref name="changes"/> and the current <paramref name="value"/>.</summary>
    public V4l2EventCtrl EventOf(uint changes, int value) => new()
    {
        Changes = changes,
        Type = Type,
        Value64 = value,
        Flags = Flags,
        Minimum = Minimum,
        Maximum = Maximum,
        Step = Step,
        DefaultValue = DefaultValue,
    };
}
