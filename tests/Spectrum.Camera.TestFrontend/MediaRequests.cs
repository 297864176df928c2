using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.TestFrontend;

/// <summary>
/// The guest's side of the virtio-media wire, built from the Uapi structures (checked against the kernel headers and
/// the guest driver's own header by the layout test): virtio-media commands, the V4L2 payloads a guest driver sends,
/// SG lists, and typed reads of what the device answers. Every test, tool, fuzzer seed and benchmark that plays the
/// guest encodes its requests here. The requests are deliberately as a driver fills them: the fields it sets, zero
/// elsewhere.
/// </summary>
public static class MediaRequests
{
    public const uint Capture = V4l2.BufTypeVideoCapture;
    public const uint Output = V4l2.BufTypeVideoOutput;

    // ---- commands ---------------------------------------------------------------------------------------------------

    /// <summary>A bare command header (OPEN is exactly this).</summary>
    public static byte[] Header(uint command) => WireStruct.ToArray(new VirtioMediaCommandHeader { Command = command });

    public static byte[] Open() => Header(VirtioMediaWire.CmdOpen);

    public static byte[] Close(uint session) => WireStruct.ToArray(new VirtioMediaCloseCommand
    {
        Header = new VirtioMediaCommandHeader { Command = VirtioMediaWire.CmdClose },
        SessionId = session,
    });

    /// <summary>CMD_MMAP of the buffer plane at mmap offset <paramref name="offset"/>; <paramref name="writable"/> sets VIRTIO_MEDIA_MMAP_FLAG_RW.</summary>
    public static byte[] Mmap(uint session, uint offset, bool writable = true) => WireStruct.ToArray(new VirtioMediaMmapCommand
    {
        Header = new VirtioMediaCommandHeader { Command = VirtioMediaWire.CmdMmap },
        SessionId = session,
        Flags = writable ? VirtioMediaWire.MmapFlagReadWrite : 0,
        Offset = offset,
    });

    /// <summary>CMD_MUNMAP of what CMD_MMAP mapped at <paramref name="driverAddress"/>.</summary>
    public static byte[] Munmap(ulong driverAddress) => WireStruct.ToArray(new VirtioMediaMunmapCommand
    {
        Header = new VirtioMediaCommandHeader { Command = VirtioMediaWire.CmdMunmap },
        DriverAddress = driverAddress,
    });

    /// <summary>A whole CMD_IOCTL: the command, then <paramref name="payload"/>, then <paramref name="extra"/> (SG entries).</summary>
    public static byte[] Ioctl(uint session, V4l2IoctlNumber code, ReadOnlySpan<byte> payload = default, ReadOnlySpan<byte> extra = default)
    {
        var command = WireStruct.ToArray(new VirtioMediaIoctlCommand
        {
            Header = new VirtioMediaCommandHeader { Command = VirtioMediaWire.CmdIoctl },
            SessionId = session,
            Code = (uint)code,
        });
        return [.. command, .. payload, .. extra];
    }

    // ---- V4L2 payloads ----------------------------------------------------------------------------------------------

    public static byte[] Bytes<T>(in T value)
        where T : unmanaged => WireStruct.ToArray(in value);

    /// <summary>A u32 payload (STREAMON's buffer type, S_INPUT's index).</summary>
    public static byte[] Word(uint value) => Bytes(value);

    public static byte[] FmtDesc(uint index, uint type = Capture) => Bytes(new V4l2FmtDesc { Index = index, Type = type });

    /// <summary>
    /// A single-planar format as an application asks for it (field NONE); <paramref name="sizeImage"/> where it matters
    /// (CREATE_BUFS takes the buffers' size from it; an application copies it from G_FMT or TRY_FMT).
    /// </summary>
    public static V4l2Format FormatOf(uint width, uint height, uint pixelFormat, uint type = Capture, uint sizeImage = 0) => new()
    {
        Type = type,
        Pix = new V4l2PixFormat { Width = width, Height = height, PixelFormat = pixelFormat, Field = V4l2.FieldNone, SizeImage = sizeImage },
    };

    public static byte[] Format(uint width, uint height, uint pixelFormat, uint type = Capture) =>
        Bytes(FormatOf(width, height, pixelFormat, type));

    public static byte[] RequestBuffers(uint count, uint memory = V4l2.MemoryUserPtr, uint type = Capture) =>
        Bytes(new V4l2RequestBuffers { Count = count, Type = type, Memory = memory });

    public static byte[] CreateBuffers(uint count, in V4l2Format format, uint memory = V4l2.MemoryUserPtr) =>
        Bytes(new V4l2CreateBuffers { Count = count, Memory = memory, Format = format });

    public static V4l2Buffer BufferOf(uint index, ulong userPtr, uint length, uint type = Capture, uint memory = V4l2.MemoryUserPtr, uint flags = 0) =>
        new() { Index = index, Type = type, Flags = flags, Memory = memory, UserPtr = userPtr, Length = length };

    public static byte[] Buffer(uint index, ulong userPtr, uint length, uint type = Capture, uint memory = V4l2.MemoryUserPtr, uint flags = 0) =>
        Bytes(BufferOf(index, userPtr, length, type, memory, flags));

    /// <summary>
    /// An OUTPUT buffer as an application queues a frame: its USERPTR memory, <paramref name="bytesUsed"/> (a whole
    /// frame: the format's size) and the field (progressive).
    /// </summary>
    public static byte[] OutputBuffer(uint index, ulong userPtr, uint length, uint bytesUsed, uint field = V4l2.FieldNone)
    {
        var buffer = BufferOf(index, userPtr, length, Output);
        buffer.BytesUsed = bytesUsed;
        buffer.Field = field;
        return Bytes(buffer);
    }

    /// <summary>A streamparm asking for <paramref name="numerator"/>/<paramref name="denominator"/> seconds a frame (parm.capture or parm.output by type).</summary>
    public static byte[] StreamParm(uint numerator, uint denominator, uint type = Capture) => Bytes(type == Output
        ? new V4l2StreamParm { Type = type, Output = new V4l2OutputParm { TimePerFrame = new V4l2Fract(numerator, denominator) } }
        : new V4l2StreamParm { Type = type, Capture = new V4l2CaptureParm { TimePerFrame = new V4l2Fract(numerator, denominator) } });

    public static byte[] FrmSizeEnum(uint index, uint pixelFormat) =>
        Bytes(new V4l2FrmSizeEnum { Index = index, PixelFormat = pixelFormat });

    public static byte[] FrmIvalEnum(uint index, uint pixelFormat, uint width, uint height) =>
        Bytes(new V4l2FrmIvalEnum { Index = index, PixelFormat = pixelFormat, Width = width, Height = height });

    public static byte[] Input(uint index) => Bytes(new V4l2Input { Index = index });

    public static byte[] OutputOf(uint index) => Bytes(new V4l2Output { Index = index });

    // ---- controls and events ----------------------------------------------------------------------------------------

    /// <summary>A v4l2_control (G_CTRL, S_CTRL).</summary>
    public static byte[] Control(uint id, int value = 0) => Bytes(new V4l2Control { Id = id, Value = value });

    /// <summary>A QUERYCTRL request for <paramref name="id"/> (with V4L2_CTRL_FLAG_NEXT_CTRL for a walk).</summary>
    public static byte[] QueryControl(uint id) => Bytes(new V4l2QueryCtrl { Id = id });

    public static byte[] QueryExtControl(uint id) => Bytes(new V4l2QueryExtCtrl { Id = id });

    /// <summary>
    /// A G/S/TRY_EXT_CTRLS payload: the v4l2_ext_controls with <paramref name="which"/> and the application's controls
    /// pointer, then one v4l2_ext_control per (id, value), as the guest driver puts both on the wire.
    /// </summary>
    public static byte[] ExtControls(uint which, ulong controlsPointer, params (uint Id, int Value)[] controls)
    {
        ArgumentNullException.ThrowIfNull(controls);
        var head = Bytes(new V4l2ExtControls { Which = which, Count = (uint)controls.Length, Controls = controlsPointer });
        return [.. head, .. controls.SelectMany(c => Bytes(new V4l2ExtControl { Id = c.Id, Value = c.Value }))];
    }

    /// <summary>A v4l2_event_subscription (SUBSCRIBE_EVENT, UNSUBSCRIBE_EVENT).</summary>
    public static byte[] EventSubscription(uint type, uint id, uint flags = 0) =>
        Bytes(new V4l2EventSubscription { Type = type, Id = id, Flags = flags });

    /// <summary>virtio_media_sg_entry for each range: the readable tail of PREPARE_BUF and QBUF.</summary>
    public static byte[] SgList(IEnumerable<(ulong Start, uint Length)> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        return [.. entries.SelectMany(e => Bytes(new VirtioMediaSgEntry { Start = e.Start, Length = e.Length }))];
    }

    public static byte[] SgList(params (ulong Start, uint Length)[] entries) => SgList((IEnumerable<(ulong, uint)>)entries);

    /// <summary>
    /// A whole QBUF as the guest driver sends it for a USERPTR buffer: the command, the v4l2_buffer, the buffer's SG list.
    /// </summary>
    public static byte[] QueueBuffer(uint session, uint index, ulong userPtr, GuestFrameBuffer buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        return Ioctl(session, V4l2IoctlNumber.QBuf, Buffer(index, userPtr, buffer.Length), buffer.SgList());
    }

    /// <summary>A distinct, recognisable m.userptr cookie per buffer (the device echoes it and must not use it).</summary>
    public static ulong UserPtrOf(int index) => 0x7F00_0000_0000UL + ((ulong)index << 24);

    // ---- answers ----------------------------------------------------------------------------------------------------

    /// <summary>The structure at the start of <paramref name="answer"/>, which must hold one.</summary>
    public static T Read<T>(ReadOnlySpan<byte> answer)
        where T : unmanaged =>
        WireStruct.TryRead(answer, out T value)
            ? value
            : throw new InvalidDataException($"{answer.Length} bytes cannot hold a {typeof(T).Name} of {WireStruct.SizeOf<T>()}");

    public static int SizeOf<T>()
        where T : unmanaged => WireStruct.SizeOf<T>();
}
