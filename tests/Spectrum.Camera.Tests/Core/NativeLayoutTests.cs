using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Sandbox;
using Spectrum.Camera.Uapi;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// Compares the hand-written libc bindings with the C headers: a C program compiled with gcc at test time prints
/// sizeof/offsetof of every struct the bindings use and the value of every constant in LinuxConstants, and the test
/// compares them with Marshal.SizeOf/OffsetOf and the C# constants. gcc is required: without it the test fails.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class NativeLayoutTests
{
    /// <summary>C# struct → C type and C# field → C member, for every struct in NativeStructs.cs.</summary>
    private static readonly (Type Managed, string C, (string Field, string Member)[] Fields)[] Structs =
    [
        (typeof(IoVec), "struct iovec", [("Base", "iov_base"), ("Length", "iov_len")]),
        (typeof(MsgHdr), "struct msghdr", [("Name", "msg_name"), ("NameLength", "msg_namelen"), ("Iov", "msg_iov"),
            ("IovLength", "msg_iovlen"), ("Control", "msg_control"), ("ControlLength", "msg_controllen"), ("Flags", "msg_flags")]),
        (typeof(CmsgHdr), "struct cmsghdr", [("Length", "cmsg_len"), ("Level", "cmsg_level"), ("Type", "cmsg_type")]),
        (typeof(EpollEvent), "struct epoll_event", [("Events", "events"), ("Data", "data")]),
        (typeof(TimeSpec), "struct timespec", [("Seconds", "tv_sec"), ("Nanoseconds", "tv_nsec")]),
        (typeof(ITimerSpec), "struct itimerspec", [("Interval", "it_interval"), ("Value", "it_value")]),
        (typeof(SockAddrUn), "struct sockaddr_un", [("Family", "sun_family"), ("Path", "sun_path")]),
        (typeof(StatBuffer), "struct stat", [("Mode", "st_mode"), ("Size", "st_size")]),
        (typeof(PollFd), "struct pollfd", [("Fd", "fd"), ("Events", "events"), ("ReturnedEvents", "revents")]),

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

    private static readonly int[] CmsgFdCounts = [1, 2, 8, 16, UnixSocket.MaxFdsPerReceive];

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
                    Assert.That((long)Marshal.OffsetOf(managed, field), Is.EqualTo(_c[$"offset {c}.{member}"]),
                        $"offsetof({c}, {member}) vs {managed.Name}.{field}");
                    Assert.That(FieldSize(managed, field), Is.EqualTo(_c[$"fieldsize {c}.{member}"]),
                        $"sizeof({c}.{member}) vs {managed.Name}.{field}");
                }
            }
        });
    }

    [Test]
    public void Control_message_header_data_offset_and_space_match_the_cmsg_macros()
    {
        var headerSize = (int)typeof(UnixSocket).GetField("CmsgHeaderSize", BindingFlags.NonPublic | BindingFlags.Static)!.GetRawConstantValue()!;
        var space = typeof(UnixSocket).GetMethod("CmsgSpace", BindingFlags.NonPublic | BindingFlags.Static)!;
        Assert.Multiple(() =>
        {
            Assert.That(headerSize, Is.EqualTo(_c["size struct cmsghdr"]), "cmsghdr header size");
            Assert.That(headerSize, Is.EqualTo(_c["cmsg_data_offset"]), "CMSG_DATA offset");
            foreach (var n in CmsgFdCounts)
            {
                Assert.That((int)space.Invoke(null, [n])!, Is.EqualTo(_c[$"cmsg_space {n}"]), $"CMSG_SPACE({n} fds)");
            }

            Assert.That(_c["fieldsize struct sockaddr_un.sun_path"], Is.EqualTo(SockAddrUn.PathCapacity), "sun_path capacity");
        });
    }

    [Test]
    public void Every_linux_constant_has_its_header_value()
    {
        var constants = LinuxConstantFields();
        Assert.That(constants, Has.Length.GreaterThan(30), "LinuxConstants was read");
        Assert.Multiple(() =>
        {
            foreach (var field in constants)
            {
                var value = Convert.ToInt64(field.GetRawConstantValue(), CultureInfo.InvariantCulture);
                Assert.That(value, Is.EqualTo(_c[$"const {field.Name}"]), field.Name);
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
            var entryPoints = typeof(LinuxConstants).Assembly.GetType("Spectrum.Camera.Native.Libc")!
                .GetMethods(BindingFlags.Static | BindingFlags.NonPublic)
                .Select(m => m.GetCustomAttribute<LibraryImportAttribute>()?.EntryPoint)
                .OfType<string>()
                .ToList();
            Assert.That(entryPoints, Has.Count.GreaterThan(20));
            Assert.Multiple(() =>
            {
                foreach (var name in entryPoints)
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
    ];

    private static FieldInfo[] LinuxConstantFields() =>
        typeof(LinuxConstants).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).ToArray();

    private static FieldInfo[] SyscallNumberFields() =>
        typeof(SyscallNumbers).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).ToArray();

    private static long FieldSize(Type type, string name)
    {
        var field = type.GetField(name, BindingFlags.Public | BindingFlags.Instance)!;
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

        foreach (var n in CmsgFdCounts)
        {
            c.Append(CultureInfo.InvariantCulture, $"    printf(\"cmsg_space {n} %zu\\n\", (size_t)CMSG_SPACE({n} * sizeof(int)));\n");
        }

        foreach (var field in LinuxConstantFields())
        {
            c.Append(CultureInfo.InvariantCulture, $"    CONST({field.Name});\n");
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
