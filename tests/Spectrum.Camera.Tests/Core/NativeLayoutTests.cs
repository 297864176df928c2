using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.InteropServices;
using System.Text;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Sandbox;
using Tmds.Linux;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// Compares the libc bindings with the C headers, whichever source provides them (Tmds.LibC or the project's own
/// LinuxConstants, LibcSupplement and structs): a C program compiled with gcc at test time prints sizeof/offsetof of
/// every struct and typedef the bindings use and the value of every constant they read, and the test compares them
/// with Marshal.SizeOf/OffsetOf and the C# values. Which Tmds.LibC members the project uses is read from
/// Spectrum.Camera.Native's metadata, so a new use is checked without editing a list. gcc is required: without it
/// the test fails.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class NativeLayoutTests
{
    /// <summary>
    /// C# struct → C type and C# field → C member. Tmds.LibC's structs (Tmds.Linux) name their members as C does;
    /// <see cref="ManagedField"/> finds the field behind a property. ITimerSpec is the project's own (LibcSupplement.cs).
    /// </summary>
    private static readonly (Type Managed, string C, (string Field, string Member)[] Fields)[] Structs =
    [
        (typeof(iovec), "struct iovec", [("iov_base", "iov_base"), ("iov_len", "iov_len")]),
        (typeof(msghdr), "struct msghdr", [("msg_name", "msg_name"), ("msg_namelen", "msg_namelen"), ("msg_iov", "msg_iov"),
            ("msg_iovlen", "msg_iovlen"), ("msg_control", "msg_control"), ("msg_controllen", "msg_controllen"), ("msg_flags", "msg_flags")]),
        (typeof(cmsghdr), "struct cmsghdr", [("cmsg_len", "cmsg_len"), ("cmsg_level", "cmsg_level"), ("cmsg_type", "cmsg_type")]),
        (typeof(ucred), "struct ucred", [("pid", "pid"), ("uid", "uid"), ("gid", "gid")]),
        (typeof(epoll_event), "struct epoll_event", [("events", "events"), ("data", "data")]),
        (typeof(epoll_data_t), "union epoll_data", [("u64", "u64"), ("fd", "fd"), ("ptr", "ptr")]),
        (typeof(timespec), "struct timespec", [("tv_sec", "tv_sec"), ("tv_nsec", "tv_nsec")]),
        (typeof(ITimerSpec), "struct itimerspec", [("Interval", "it_interval"), ("Value", "it_value")]),
        (typeof(sockaddr), "struct sockaddr", [("sa_family", "sa_family")]),
        (typeof(sockaddr_un), "struct sockaddr_un", [("sun_family", "sun_family"), ("sun_path", "sun_path")]),
        (typeof(stat), "struct stat", [("st_mode", "st_mode"), ("st_size", "st_size")]),
        (typeof(pollfd), "struct pollfd", [("fd", "fd"), ("events", "events"), ("revents", "revents")]),
        (typeof(termios), "struct termios", []),

        // The sandbox's seccomp program and what it reads (Spectrum.Camera.Native/Sandbox/SeccompStructs.cs).
        (typeof(SockFilter), "struct sock_filter", [("Code", "code"), ("JumpTrue", "jt"), ("JumpFalse", "jf"), ("K", "k")]),
        (typeof(SockFprog), "struct sock_fprog", [("Length", "len"), ("Filter", "filter")]),
        (typeof(SeccompData), "struct seccomp_data", [("Nr", "nr"), ("Arch", "arch"),
            ("InstructionPointer", "instruction_pointer"), ("Args", "args")]),

        // The V4L2 structures (Spectrum.Camera.Uapi), native 64-bit layouts: what the host camera's ioctls and the
        // virtio-media wire carry.
        (typeof(V4l2Capability), "struct v4l2_capability", [("Driver", "driver"), ("Card", "card"), ("BusInfo", "bus_info"),
            ("Version", "version"), ("Capabilities", "capabilities"), ("DeviceCaps", "device_caps"), ("Reserved", "reserved")]),
        (typeof(V4l2FmtDesc), "struct v4l2_fmtdesc", [("Index", "index"), ("Type", "type"), ("Flags", "flags"),
            ("Description", "description"), ("PixelFormat", "pixelformat"), ("MbusCode", "mbus_code"), ("Reserved", "reserved")]),
        (typeof(V4l2FrmSizeEnum), "struct v4l2_frmsizeenum", [("Index", "index"), ("PixelFormat", "pixel_format"),
            ("Type", "type"), ("DiscreteWidth", "discrete.width"), ("DiscreteHeight", "discrete.height"),
            ("MinWidth", "stepwise.min_width"), ("MaxWidth", "stepwise.max_width"), ("StepWidth", "stepwise.step_width"),
            ("MinHeight", "stepwise.min_height"), ("MaxHeight", "stepwise.max_height"),
            ("StepHeight", "stepwise.step_height"), ("Reserved", "reserved")]),
        (typeof(V4l2FrmIvalEnum), "struct v4l2_frmivalenum", [("Index", "index"), ("PixelFormat", "pixel_format"),
            ("Width", "width"), ("Height", "height"), ("Type", "type"), ("Discrete", "discrete"), ("Min", "stepwise.min"),
            ("Max", "stepwise.max"), ("Step", "stepwise.step"), ("Reserved", "reserved")]),
        (typeof(V4l2Fract), "struct v4l2_fract", [("Numerator", "numerator"), ("Denominator", "denominator")]),
        (typeof(V4l2Format), "struct v4l2_format", [("Type", "type"), ("Pix", "fmt.pix")]),
        (typeof(V4l2PixFormat), "struct v4l2_pix_format", [("Width", "width"), ("Height", "height"),
            ("PixelFormat", "pixelformat"), ("Field", "field"), ("BytesPerLine", "bytesperline"), ("SizeImage", "sizeimage"),
            ("Colorspace", "colorspace"), ("Priv", "priv"), ("Flags", "flags"), ("YcbcrEncoding", "ycbcr_enc"),
            ("Quantization", "quantization"), ("TransferFunction", "xfer_func")]),
        (typeof(V4l2StreamParm), "struct v4l2_streamparm", [("Type", "type"), ("Capture", "parm.capture"), ("Output", "parm.output")]),
        (typeof(V4l2CaptureParm), "struct v4l2_captureparm", [("Capability", "capability"), ("CaptureMode", "capturemode"),
            ("TimePerFrame", "timeperframe"), ("ExtendedMode", "extendedmode"), ("ReadBuffers", "readbuffers"),
            ("Reserved", "reserved")]),
        (typeof(V4l2OutputParm), "struct v4l2_outputparm", [("Capability", "capability"), ("OutputMode", "outputmode"),
            ("TimePerFrame", "timeperframe"), ("ExtendedMode", "extendedmode"), ("WriteBuffers", "writebuffers"),
            ("Reserved", "reserved")]),
        (typeof(V4l2RequestBuffers), "struct v4l2_requestbuffers", [("Count", "count"), ("Type", "type"),
            ("Memory", "memory"), ("Capabilities", "capabilities"), ("Flags", "flags"), ("Reserved", "reserved")]),
        (typeof(V4l2Buffer), "struct v4l2_buffer", [("Index", "index"), ("Type", "type"), ("BytesUsed", "bytesused"),
            ("Flags", "flags"), ("Field", "field"), ("TimestampSeconds", "timestamp.tv_sec"),
            ("TimestampMicroseconds", "timestamp.tv_usec"), ("Timecode", "timecode"), ("Sequence", "sequence"),
            ("Memory", "memory"), ("Offset", "m.offset"), ("UserPtr", "m.userptr"), ("Length", "length"),
            ("Reserved2", "reserved2"), ("RequestFd", "request_fd")]),
        (typeof(V4l2Timecode), "struct v4l2_timecode", [("Type", "type"), ("Flags", "flags"), ("Frames", "frames"),
            ("Seconds", "seconds"), ("Minutes", "minutes"), ("Hours", "hours"), ("UserBits", "userbits")]),
        // max_num_buffers is reserved[0] in the host's Linux 6.1 headers; the guest driver's header names it.
        (typeof(V4l2CreateBuffers), "struct v4l2_create_buffers", [("Index", "index"), ("Count", "count"),
            ("Memory", "memory"), ("Format", "format"), ("Capabilities", "capabilities"), ("Flags", "flags")]),
        (typeof(V4l2CreateBuffers), "struct vmc_wire_create_buffers", [("Index", "index"), ("Count", "count"),
            ("Memory", "memory"), ("Format", "format"), ("Capabilities", "capabilities"), ("Flags", "flags"),
            ("MaxNumBuffers", "max_num_buffers"), ("Reserved", "reserved")]),
        (typeof(V4l2Input), "struct v4l2_input", [("Index", "index"), ("Name", "name"), ("Type", "type"),
            ("AudioSet", "audioset"), ("Tuner", "tuner"), ("Std", "std"), ("Status", "status"),
            ("Capabilities", "capabilities"), ("Reserved", "reserved")]),
        (typeof(V4l2Output), "struct v4l2_output", [("Index", "index"), ("Name", "name"), ("Type", "type"),
            ("AudioSet", "audioset"), ("Modulator", "modulator"), ("Std", "std"), ("Capabilities", "capabilities"),
            ("Reserved", "reserved")]),
        (typeof(V4l2Control), "struct v4l2_control", [("Id", "id"), ("Value", "value")]),
        (typeof(V4l2QueryCtrl), "struct v4l2_queryctrl", [("Id", "id"), ("Type", "type"), ("Name", "name"),
            ("Minimum", "minimum"), ("Maximum", "maximum"), ("Step", "step"), ("DefaultValue", "default_value"),
            ("Flags", "flags"), ("Reserved", "reserved")]),
        (typeof(V4l2QueryExtCtrl), "struct v4l2_query_ext_ctrl", [("Id", "id"), ("Type", "type"), ("Name", "name"),
            ("Minimum", "minimum"), ("Maximum", "maximum"), ("Step", "step"), ("DefaultValue", "default_value"),
            ("Flags", "flags"), ("ElemSize", "elem_size"), ("Elems", "elems"), ("NrOfDims", "nr_of_dims"), ("Dims", "dims"),
            ("Reserved", "reserved")]),
        (typeof(V4l2ExtControls), "struct v4l2_ext_controls", [("Which", "which"), ("Count", "count"),
            ("ErrorIndex", "error_idx"), ("RequestFd", "request_fd"), ("Reserved", "reserved"), ("Controls", "controls")]),
        (typeof(V4l2ExtControl), "struct v4l2_ext_control", [("Id", "id"), ("Size", "size"), ("Reserved2", "reserved2"),
            ("Value", "value"), ("Value64", "value64"), ("Payload", "ptr")]),
        (typeof(V4l2EventSubscription), "struct v4l2_event_subscription", [("Type", "type"), ("Id", "id"), ("Flags", "flags"),
            ("Reserved", "reserved")]),
        (typeof(V4l2Event), "struct v4l2_event", [("Type", "type"), ("Ctrl", "u.ctrl"), ("Pending", "pending"),
            ("Sequence", "sequence"), ("TimestampSeconds", "timestamp.tv_sec"), ("TimestampNanoseconds", "timestamp.tv_nsec"),
            ("Id", "id"), ("Reserved", "reserved")]),
        (typeof(V4l2EventCtrl), "struct v4l2_event_ctrl", [("Changes", "changes"), ("Type", "type"), ("Value", "value"),
            ("Value64", "value64"), ("Flags", "flags"), ("Minimum", "minimum"), ("Maximum", "maximum"), ("Step", "step"),
            ("DefaultValue", "default_value")]),

        // The virtio-media structures (Spectrum.Camera.Uapi/VirtioMedia) against the guest driver's own header
        // (guest-kernel/protocol.h): the device and the driver agree byte for byte.
        (typeof(VirtioMediaConfig), "struct virtio_media_config", [("DeviceCaps", "device_caps"),
            ("DeviceType", "device_type"), ("Card", "card")]),
        (typeof(VirtioMediaCommandHeader), "struct virtio_media_cmd_header", [("Command", "cmd"), ("Reserved", "reserved")]),
        (typeof(VirtioMediaResponseHeader), "struct virtio_media_resp_header", [("Status", "status"), ("Reserved", "reserved")]),
        (typeof(VirtioMediaCloseCommand), "struct virtio_media_cmd_close", [("Header", "hdr"), ("SessionId", "session_id"),
            ("Reserved", "reserved")]),
        (typeof(VirtioMediaIoctlCommand), "struct virtio_media_cmd_ioctl", [("Header", "hdr"), ("SessionId", "session_id"),
            ("Code", "code")]),
        (typeof(VirtioMediaOpenResponse), "struct virtio_media_resp_open", [("Header", "hdr"), ("SessionId", "session_id"),
            ("Reserved", "reserved")]),
        (typeof(VirtioMediaSgEntry), "struct virtio_media_sg_entry", [("Start", "start"), ("Length", "len"),
            ("Reserved", "reserved")]),
        (typeof(VirtioMediaEventHeader), "struct virtio_media_event_header", [("Event", "event"), ("SessionId", "session_id")]),
        (typeof(VirtioMediaErrorEvent), "struct virtio_media_event_error", [("Header", "hdr"), ("Errno", "errnum"),
            ("Reserved", "reserved")]),
        (typeof(VirtioMediaDqbufEvent), "struct virtio_media_event_dqbuf", [("Header", "hdr"), ("Buffer", "buffer"),
            ("Planes", "planes")]),
    ];

    /// <summary>Tmds.LibC's typedef wrappers → the C type each stands for (long_t and syscall_arg are C's long).</summary>
    private static readonly (Type Managed, string C)[] Typedefs =
    [
        (typeof(size_t), "size_t"), (typeof(ssize_t), "ssize_t"), (typeof(socklen_t), "socklen_t"), (typeof(off_t), "off_t"),
        (typeof(mode_t), "mode_t"), (typeof(pid_t), "pid_t"), (typeof(uid_t), "uid_t"), (typeof(gid_t), "gid_t"),
        (typeof(sa_family_t), "sa_family_t"), (typeof(time_t), "time_t"), (typeof(long_t), "long"), (typeof(syscall_arg), "long"),
    ];

    /// <summary>Tmds.LibC functions that stand for C macros (no libc export): each is compared with the macro below.</summary>
    private static readonly string[] TmdsMacros = ["CMSG_SPACE", "CMSG_ALIGN", "CMSG_DATA", "S_ISREG"];

    /// <summary>File modes S_ISREG is tried on (C expressions).</summary>
    private static readonly string[] ModeExpressions = ["S_IFREG | 0644", "S_IFDIR | 0755", "S_IFCHR | 0600", "S_IFSOCK | 0777", "S_IFIFO", "0"];

    private static readonly int[] CmsgFdCounts = [1, 2, 3, 8, 16, UnixSocket.MaxFdsPerReceive];

    private Dictionary<string, long> _c = [];

    [OneTimeSetUp]
    public void CompileAndRunTheHeaderProbe() => _c = RunProbe(BuildProbe());

    [Test]
    public void Every_struct_has_the_size_of_its_c_counterpart()
    {
        Assert.Multiple(() =>
        {
            foreach (var (managed, c, _) in Structs)
            {
                Assert.That(Marshal.SizeOf(managed), Is.EqualTo(_c[$"size {c}"]), $"sizeof({c}) vs {managed.Name}");
                Assert.That(ManagedSize(managed), Is.EqualTo(_c[$"size {c}"]), $"sizeof({c}) vs C#'s sizeof({managed.Name}), the stride of stackalloc and pointers");
            }
        });
    }

    [Test]
    public void Every_field_has_the_offset_and_size_of_its_c_member()
    {
        Assert.Multiple(() =>
        {
            foreach (var (managed, c, fields) in Structs)
            {
                foreach (var (field, member) in fields)
                {
                    Assert.That((long)Marshal.OffsetOf(managed, ManagedField(managed, field).Name), Is.EqualTo(_c[$"offset {c}.{member}"]),
                        $"offsetof({c}, {member}) vs {managed.Name}.{field}");
                    Assert.That(FieldSize(managed, field), Is.EqualTo(_c[$"fieldsize {c}.{member}"]),
                        $"sizeof({c}.{member}) vs {managed.Name}.{field}");
                }
            }
        });
    }

    [Test]
    public void Every_tmds_libc_typedef_has_the_size_and_signedness_of_its_c_type()
    {
        Assert.Multiple(() =>
        {
            foreach (var (managed, c) in Typedefs)
            {
                Assert.That(Marshal.SizeOf(managed), Is.EqualTo(_c[$"size {c}"]), $"sizeof({c}) vs {managed.Name}");
                var primitive = Primitive(managed);
                var signed = primitive == typeof(sbyte) || primitive == typeof(short) || primitive == typeof(int) || primitive == typeof(long);
                Assert.That(signed ? 1 : 0, Is.EqualTo(_c[$"signed {c}"]), $"signedness of {c} vs {managed.Name} ({primitive.Name})");
            }
        });
    }

    [Test]
    public void Every_tmds_libc_type_the_bindings_use_is_checked_here()
    {
        var used = TmdsMembersUsed().Select(m => m.Type).Where(t => t != nameof(LibC)).Distinct().ToList();
        Assert.That(used, Has.Count.GreaterThan(10), "Spectrum.Camera.Native's references to Tmds.Linux were read");
        var checkedTypes = Structs.Select(s => s.Managed).Concat(Typedefs.Select(t => t.Managed))
            .Where(t => t.Namespace == "Tmds.Linux").Select(t => t.Name).ToHashSet();
        Assert.That(used.Where(t => !checkedTypes.Contains(t)), Is.Empty, "used but not in Structs or Typedefs");
    }

    [Test]
    public unsafe void Control_message_header_data_offset_length_and_space_match_the_cmsg_macros()
    {
        var length = typeof(UnixSocket).GetMethod("CmsgLength", BindingFlags.NonPublic | BindingFlags.Static)!;
        var capacity = (int)typeof(UnixSocket).GetProperty("ControlCapacity", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
        var control = stackalloc byte[64];
        Assert.Multiple(() =>
        {
            Assert.That(LibC.CMSG_ALIGN(sizeof(cmsghdr)), Is.EqualTo(_c["cmsg_data_offset"]), "CMSG_ALIGN(sizeof(struct cmsghdr))");
            Assert.That(LibC.CMSG_DATA((cmsghdr*)control) - control, Is.EqualTo(_c["cmsg_data_offset"]), "CMSG_DATA offset");
            foreach (var n in CmsgFdCounts)
            {
                Assert.That(LibC.CMSG_SPACE(n * sizeof(int)), Is.EqualTo(_c[$"cmsg_space {n}"]), $"CMSG_SPACE({n} fds)");
                Assert.That(LibC.CMSG_ALIGN(n * sizeof(int)), Is.EqualTo(_c[$"cmsg_align {n}"]), $"CMSG_ALIGN({n} fds)");
                Assert.That((int)length.Invoke(null, [n])!, Is.EqualTo(_c[$"cmsg_len {n}"]), $"UnixSocket's CMSG_LEN({n} fds)");
            }

            Assert.That(capacity, Is.EqualTo(_c[$"cmsg_space {UnixSocket.MaxFdsPerReceive}"]), "the receive buffer holds MaxFdsPerReceive fds");
            Assert.That(sockaddr_un.sun_path_length, Is.EqualTo(_c["fieldsize struct sockaddr_un.sun_path"]), "sun_path capacity");
            Assert.That(sockaddr_un.sun_path_offset, Is.EqualTo(_c["offset struct sockaddr_un.sun_path"]), "sun_path offset");
            foreach (var mode in ModeExpressions)
            {
                Assert.That(LibC.S_ISREG((ushort)_c[$"mode {mode}"]) ? 1 : 0, Is.EqualTo(_c[$"S_ISREG {mode}"]), $"S_ISREG({mode})");
            }
        });
    }

    [Test]
    public void Every_linux_constant_has_its_header_value()
    {
        Assert.That(LinuxConstantFields(), Has.Length.GreaterThan(30), "LinuxConstants and Errnos were read");
        Assert.That(TmdsConstantsUsed(), Has.Length.GreaterThan(40), "Spectrum.Camera.Native's Tmds.LibC constants were read");
        Assert.Multiple(() =>
        {
            foreach (var (label, name, value) in Constants())
            {
                Assert.That(value, Is.EqualTo(_c[$"const {name}"]), label);
            }
        });
    }

    [Test]
    public void Every_v4l2_constant_and_ioctl_request_number_has_its_header_value()
    {
        var constants = V4l2ConstantFields();
        Assert.That(V4l2.HeaderNames.Select(n => n.Name), Is.EquivalentTo(constants.Select(f => f.Name)),
            "every V4l2 constant has exactly one header name");
        Assert.That(V4l2Requests.All, Has.Count.EqualTo(23));
        Assert.Multiple(() =>
        {
            foreach (var (name, header) in V4l2.HeaderNames)
            {
                var value = (uint)constants.Single(f => f.Name == name).GetRawConstantValue()!;
                Assert.That((long)value, Is.EqualTo(_c[$"const {header}"]), $"V4l2.{name} ({header})");
            }

            foreach (var (name, value) in V4l2Requests.All)
            {
                Assert.That((long)value, Is.EqualTo(_c[$"const {name}"]), $"{name} = 0x{value:x8}");
            }
        });
    }

    [Test]
    public void Every_named_ioctl_number_is_the_ioc_nr_of_its_header_request()
    {
        Assert.Multiple(() =>
        {
            foreach (var number in Enum.GetValues<V4l2IoctlNumber>())
            {
                Assert.That((long)number, Is.EqualTo(_c[$"ioc_nr VIDIOC_{number.Name()}"]), $"{number} is _IOC_NR(VIDIOC_{number.Name()})");
            }
        });
    }

    [Test]
    public void Every_errno_value_is_the_linux_one_and_the_virtio_media_constants_are_the_guest_drivers()
    {
        Assert.Multiple(() =>
        {
            foreach (var errno in Enum.GetValues<Errno>().Where(e => e != Errno.None))
            {
                Assert.That((long)errno, Is.EqualTo(_c[$"errno {errno}"]), errno.ToString());
            }

            foreach (var (name, value) in VirtioMediaConstants)
            {
                Assert.That((long)value, Is.EqualTo(_c[$"const {name}"]), name);
            }
        });
    }

    [Test]
    public void Every_x86_64_system_call_number_the_sandbox_uses_has_its_header_value()
    {
        var numbers = SyscallNumberFields();
        Assert.That(numbers, Has.Length.GreaterThan(50), "SyscallNumbers was read");
        Assert.Multiple(() =>
        {
            foreach (var field in numbers)
            {
                Assert.That((long)(int)field.GetRawConstantValue()!, Is.EqualTo(_c[$"const {field.Name}"]), field.Name);
            }
        });
    }

    [Test]
    public void Every_libc_entry_point_the_bindings_import_exists()
    {
        var libc = NativeLibrary.Load("libc.so.6");
        try
        {
            var own = typeof(LinuxConstants).Assembly.GetType("Spectrum.Camera.Native.LibcSupplement")!
                .GetMethods(BindingFlags.Static | BindingFlags.NonPublic)
                .Select(m => m.GetCustomAttribute<LibraryImportAttribute>()?.EntryPoint)
                .OfType<string>()
                .ToList();
            Assert.That(own, Has.Count.EqualTo(5), "LibcSupplement's imports");
            var tmds = TmdsEntryPointsUsed();
            Assert.That(tmds, Has.Count.GreaterThan(25), "Tmds.LibC's imports that Spectrum.Camera.Native calls");
            Assert.Multiple(() =>
            {
                foreach (var name in own.Concat(tmds))
                {
                    Assert.That(NativeLibrary.TryGetExport(libc, name, out _), Is.True, name);
                }
            });
        }
        finally
        {
            NativeLibrary.Free(libc);
        }
    }

    /// <summary>PollEvents members and the poll.h bits they stand for.</summary>
    private static readonly (PollEvents Bit, string Name)[] PollEventNames =
    [
        (PollEvents.In, "POLLIN"), (PollEvents.Priority, "POLLPRI"), (PollEvents.Error, "POLLERR"),
        (PollEvents.HangUp, "POLLHUP"), (PollEvents.Invalid, "POLLNVAL"),
    ];

    /// <summary>
    /// Every constant the bindings use, whichever source provides it: LinuxConstants and Errnos (written out), the
    /// Tmds.LibC properties Spectrum.Camera.Native reads, and the PollEvents bits. Label, C name, value.
    /// </summary>
    private static IEnumerable<(string Label, string Name, long Value)> Constants() =>
        LinuxConstantFields().Select(f => ($"{f.DeclaringType!.Name}.{f.Name}", f.Name, Convert.ToInt64(f.GetRawConstantValue(), CultureInfo.InvariantCulture)))
            .Concat(TmdsConstantsUsed().Select(p => ($"LibC.{p.Name}", p.Name, ValueOf(p.GetValue(null)!))))
            .Concat(PollEventNames.Select(p => ($"PollEvents.{p.Bit}", p.Name, (long)p.Bit)));

    private static FieldInfo[] V4l2ConstantFields() =>
        typeof(V4l2).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).ToArray();

    /// <summary>The virtio-media constants by their name in the guest driver's header.</summary>
    private static readonly (string Name, uint Value)[] VirtioMediaConstants =
    [
        ("VIRTIO_ID_MEDIA", VirtioMediaWire.DeviceId), ("VIRTIO_MEDIA_CMD_OPEN", VirtioMediaWire.CmdOpen),
        ("VIRTIO_MEDIA_CMD_CLOSE", VirtioMediaWire.CmdClose), ("VIRTIO_MEDIA_CMD_IOCTL", VirtioMediaWire.CmdIoctl),
        ("VIRTIO_MEDIA_CMD_MMAP", VirtioMediaWire.CmdMmap), ("VIRTIO_MEDIA_CMD_MUNMAP", VirtioMediaWire.CmdMunmap),
        ("VIRTIO_MEDIA_EVT_ERROR", VirtioMediaWire.EventError), ("VIRTIO_MEDIA_EVT_DQBUF", VirtioMediaWire.EventDqbuf),
        ("VIRTIO_MEDIA_EVT_EVENT", VirtioMediaWire.EventV4l2), ("VIRTIO_MEDIA_MAX_PLANES", VirtioMediaWire.MaxPlanes),
        ("VIRTIO_MEDIA_EVENT_EVENT_SIZE", (uint)WireStruct.SizeOf<VirtioMediaV4l2Event>()),
    ];

    private static FieldInfo[] LinuxConstantFields() =>
        new[] { typeof(LinuxConstants), typeof(Errnos) }
            .SelectMany(t => t.GetFields(BindingFlags.Public | BindingFlags.Static))
            .Where(f => f.IsLiteral)
            .ToArray();

    /// <summary>Every (type, member) of Tmds.Linux that Spectrum.Camera.Native references, from its metadata.</summary>
    private static List<(string Type, string Member)> TmdsMembersUsed()
    {
        using var file = File.OpenRead(typeof(FdHandle).Assembly.Location);
        using var pe = new PEReader(file);
        var metadata = pe.GetMetadataReader();
        var used = new List<(string, string)>();
        foreach (var handle in metadata.MemberReferences)
        {
            var member = metadata.GetMemberReference(handle);
            if (member.Parent.Kind == HandleKind.TypeReference)
            {
                var type = metadata.GetTypeReference((TypeReferenceHandle)member.Parent);
                if (metadata.GetString(type.Namespace) == "Tmds.Linux")
                {
                    used.Add((metadata.GetString(type.Name), metadata.GetString(member.Name)));
                }
            }
        }

        foreach (var handle in metadata.TypeReferences)
        {
            var type = metadata.GetTypeReference(handle);
            if (metadata.GetString(type.Namespace) == "Tmds.Linux")
            {
                used.Add((metadata.GetString(type.Name), ""));
            }
        }

        return used;
    }

    /// <summary>The LibC constants (static properties) Spectrum.Camera.Native reads.</summary>
    private static PropertyInfo[] TmdsConstantsUsed() =>
        TmdsMembersUsed()
            .Where(m => m.Type == nameof(LibC) && m.Member.StartsWith("get_", StringComparison.Ordinal))
            .Select(m => typeof(LibC).GetProperty(m.Member[4..], BindingFlags.Public | BindingFlags.Static))
            .OfType<PropertyInfo>()
            .Where(p => p.Name != nameof(LibC.errno))
            .DistinctBy(p => p.Name)
            .ToArray();

    /// <summary>
    /// The libc symbols behind the LibC functions Spectrum.Camera.Native calls: a function's own DllImport, or, for a
    /// wrapper such as ioctl or fstat, the private import "_name" it calls. Fails for a function that is neither.
    /// </summary>
    private static List<string> TmdsEntryPointsUsed()
    {
        var all = typeof(LibC).GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static);
        var symbols = new List<string>();
        foreach (var name in TmdsMembersUsed().Where(m => m.Type == nameof(LibC) && m.Member.Length > 0 && !m.Member.StartsWith("get_", StringComparison.Ordinal))
                     .Select(m => m.Member).Distinct().Where(n => !TmdsMacros.Contains(n)))
        {
            var imports = all.Where(m => (m.Name == name || m.Name == "_" + name) && m.GetCustomAttribute<DllImportAttribute>() is not null)
                .Select(m => m.GetCustomAttribute<DllImportAttribute>()!.EntryPoint ?? m.Name)
                .Distinct()
                .ToList();
            Assert.That(imports, Is.Not.Empty, $"LibC.{name} is neither an import nor a wrapper of _{name} nor a checked macro");
            symbols.AddRange(imports);
        }

        return symbols;
    }

    /// <summary>A Tmds.LibC value (a primitive, a typedef wrapper around one, or a pointer) as a number.</summary>
    private static unsafe long ValueOf(object value) =>
        value is Pointer pointer ? (long)(nint)Pointer.Unbox(pointer)
        : value.GetType().IsPrimitive ? Convert.ToInt64(value, CultureInfo.InvariantCulture)
        : ValueOf(TypedefValue(value.GetType()).GetValue(value)!);

    /// <summary>The primitive under a typedef wrapper (time_t wraps ssize_t, which wraps long).</summary>
    private static Type Primitive(Type type) => type.IsPrimitive ? type : Primitive(TypedefValue(type).FieldType);

    private static FieldInfo TypedefValue(Type type) =>
        type.GetField("__value", BindingFlags.Instance | BindingFlags.NonPublic)
        ?? throw new MissingFieldException(type.Name, "__value");

    /// <summary>
    /// The field behind a struct member: the field itself, or the compiler's backing field of a property
    /// (Tmds.LibC's msghdr.msg_iov), or the private "_name" field a conversion property wraps (msghdr.msg_iovlen).
    /// </summary>
    private static FieldInfo ManagedField(Type type, string name)
    {
        const BindingFlags Instance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
        return type.GetField(name, Instance) ?? type.GetField($"<{name}>k__BackingField", Instance) ?? type.GetField("_" + name, Instance)
            ?? throw new MissingFieldException(type.Name, name);
    }

    private static FieldInfo[] SyscallNumberFields() =>
        typeof(SyscallNumbers).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).ToArray();

    /// <summary>C#'s sizeof(T), which can differ from Marshal.SizeOf for a type that is not blittable.</summary>
    private static int ManagedSize(Type type) =>
        (int)typeof(System.Runtime.CompilerServices.Unsafe).GetMethod(nameof(System.Runtime.CompilerServices.Unsafe.SizeOf))!
            .MakeGenericMethod(type).Invoke(null, null)!;

    private static long FieldSize(Type type, string name)
    {
        var field = ManagedField(type, name);
        return field.FieldType.IsPointer ? IntPtr.Size : Marshal.SizeOf(field.FieldType);
    }

    private static string BuildProbe()
    {
        var c = new StringBuilder("""
            #define _GNU_SOURCE
            #include <errno.h>
            #include <fcntl.h>
            #include <poll.h>
            #include <stddef.h>
            #include <stdio.h>
            #include <time.h>
            #include <sys/epoll.h>
            #include <sys/eventfd.h>
            #include <sys/mman.h>
            #include <sys/socket.h>
            #include <sys/stat.h>
            #include <sys/timerfd.h>
            #include <sys/uio.h>
            #include <sys/un.h>
            #include <termios.h>
            #include <linux/videodev2.h>
            #include "GUEST_PROTOCOL_H"
            #include <sched.h>
            #include <signal.h>
            #include <sys/ioctl.h>
            #include <sys/prctl.h>
            #include <sys/syscall.h>
            #include <linux/audit.h>
            #include <linux/filter.h>
            #include <linux/seccomp.h>
            #define SIZE(t) printf("size %s %zu\n", #t, sizeof(t))
            #define MEMBER(t, m) printf("offset %s.%s %zu\nfieldsize %s.%s %zu\n", #t, #m, offsetof(t, m), #t, #m, sizeof(((t *)0)->m))
            #define CONST(n) printf("const %s %lld\n", #n, (long long)(n))
            #define TYPEDEF(t) printf("size %s %zu\nsigned %s %d\n", #t, sizeof(t), #t, (t)-1 < 0)
            int main(void)
            {
                union { struct cmsghdr h; char space[CMSG_SPACE(sizeof(int))]; } u;
                printf("cmsg_data_offset %zu\n", (size_t)((char *)CMSG_DATA(&u.h) - (char *)&u.h));

            """);
        foreach (var (_, type, fields) in Structs)
        {
            c.Append(CultureInfo.InvariantCulture, $"    SIZE({type});\n");
            foreach (var (_, member) in fields)
            {
                c.Append(CultureInfo.InvariantCulture, $"    MEMBER({type}, {member});\n");
            }
        }

        foreach (var (_, type) in Typedefs.DistinctBy(t => t.C))
        {
            c.Append(CultureInfo.InvariantCulture, $"    TYPEDEF({type});\n");
        }

        foreach (var n in CmsgFdCounts)
        {
            foreach (var macro in new[] { "CMSG_SPACE", "CMSG_LEN", "CMSG_ALIGN" })
            {
                c.Append(CultureInfo.InvariantCulture, $"    printf(\"{macro.ToLowerInvariant()} {n} %zu\\n\", (size_t){macro}({n} * sizeof(int)));\n");
            }
        }

        foreach (var mode in ModeExpressions)
        {
            c.Append(CultureInfo.InvariantCulture, $"    printf(\"mode {mode} %u\\nS_ISREG {mode} %d\\n\", (unsigned)({mode}), S_ISREG({mode}) ? 1 : 0);\n");
        }

        foreach (var name in Constants().Select(c => c.Name).Distinct(StringComparer.Ordinal))
        {
            c.Append(CultureInfo.InvariantCulture, $"    CONST({name});\n");
        }

        foreach (var field in SyscallNumberFields())
        {
            c.Append(CultureInfo.InvariantCulture, $"    CONST({field.Name});\n");
        }

        // Request numbers are unsigned long: print them unsigned (VIDIOC_* with _IOC_READ set are above 2^31).
        var unsignedConstants = V4l2.HeaderNames.Select(k => k.Header).Concat(V4l2Requests.All.Select(r => r.Name))
            .Concat(VirtioMediaConstants.Select(k => k.Name));
        foreach (var name in unsignedConstants)
        {
            c.Append(CultureInfo.InvariantCulture, $"    printf(\"const %s %llu\\n\", \"{name}\", (unsigned long long)({name}));\n");
        }

        foreach (var errno in Enum.GetValues<Errno>().Where(e => e != Errno.None))
        {
            c.Append(CultureInfo.InvariantCulture, $"    printf(\"errno %s %d\\n\", \"{errno}\", {errno});\n");
        }

        foreach (var number in Enum.GetValues<V4l2IoctlNumber>())
        {
            c.Append(CultureInfo.InvariantCulture, $"    printf(\"ioc_nr VIDIOC_%s %llu\\n\", \"{number.Name()}\", (unsigned long long)_IOC_NR(VIDIOC_{number.Name()}));\n");
        }

        return c.Append("    return 0;\n}\n").ToString().Replace("GUEST_PROTOCOL_H", Repository.PathOf("guest-kernel/protocol.h"), StringComparison.Ordinal);
    }

    private static Dictionary<string, long> RunProbe(string source)
    {
        var dir = Directory.CreateTempSubdirectory("spectrum-layout-");
        try
        {
            var sourcePath = Path.Combine(dir.FullName, "probe.c");
            var binary = Path.Combine(dir.FullName, "probe");
            File.WriteAllText(sourcePath, source);
            var (compileCode, _, compileErrors) = Run("gcc", "-std=c11", "-Wall", "-Werror", "-o", binary, sourcePath);
            Assert.That(compileCode, Is.Zero, $"gcc failed:\n{compileErrors}\n{source}");
            var (code, output, errors) = Run(binary);
            Assert.That(code, Is.Zero, errors);
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => (Key: line[..line.LastIndexOf(' ')], Value: line[(line.LastIndexOf(' ') + 1)..]))
                .ToDictionary(kv => kv.Key, kv => long.Parse(kv.Value, CultureInfo.InvariantCulture));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static (int Code, string Output, string Errors) Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        }
        catch (Win32Exception e)
        {
            // A missing compiler is a failure, not a skip: these checks are the only guard on the bindings.
            Assert.Fail($"cannot run {program} ({e.Message}); install gcc to check the native layouts");
            throw;
        }

        using (process)
        {
            var errors = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output, errors.Result);
        }
    }
}
