using System.Globalization;
using Spectrum.Camera.Uapi;
using Spectrum.Camera.Frames;
using Spectrum.Camera.Native;

namespace Spectrum.Camera.Host;

/// <summary>A /dev/video* node that is not listed as a camera, and why.</summary>
/// <param name="Errno">The open or QUERYCAP errno; 0 when the node opened but is not a single-planar capture device.</param>
public sealed record SkippedNode(string Path, string Reason, int Errno);

/// <summary>The result of scanning the host: capture devices, and the nodes that were passed over.</summary>
public sealed record CameraScan(IReadOnlyList<CameraDevice> Cameras, IReadOnlyList<SkippedNode> Skipped)
{
    /// <summary>Nodes that could not be opened for lack of permission (EACCES/EPERM).</summary>
    public IEnumerable<SkippedNode> PermissionDenied => Skipped.Where(s => s.Errno is Errnos.EACCES or Errnos.EPERM);
}

/// <summary>
/// Lists the host's V4L2 capture devices: every /dev/video* node that QUERYCAP reports as single-planar video capture
/// with streaming I/O, with its by-id/by-path links, and every format x size x interval it offers.
/// </summary>
public static class CameraEnumerator
{
    // Bounds on what a driver may make us enumerate (a buggy driver that never answers EINVAL cannot loop us).
    private const uint MaxFormats = 256;
    private const uint MaxSizes = 256;
    private const uint MaxIntervals = 64;

    /// <summary>Scans <paramref name="deviceDirectory"/> (default /dev) for video nodes and describes each capture device.</summary>
    public static CameraScan Scan(string deviceDirectory = "/dev")
    {
        var links = DeviceLinks.Scan(deviceDirectory);
        var cameras = new List<CameraDevice>();
        var skipped = new List<SkippedNode>();
        foreach (var node in VideoNodes(deviceDirectory))
        {
            var errno = TryDescribe(node, links.GetValueOrDefault(node, []), out var camera, out var reason);
            if (camera is not null)
            {
                cameras.Add(camera);
            }
            else
            {
                skipped.Add(new SkippedNode(node, reason!, errno));
            }
        }

        return new CameraScan(cameras, skipped);
    }

    /// <summary>
    /// Describes one device given by its node or by a /dev/v4l/by-id or by-path link.
    /// </summary>
    /// <exception cref="HostCameraException">It cannot be opened or is not a single-planar capture device.</exception>
    public static CameraDevice Describe(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var node = DeviceLinks.ResolveNode(path);
        var directory = Path.GetDirectoryName(node) ?? "/dev";
        var links = DeviceLinks.Scan(directory).GetValueOrDefault(node, []);
        var errno = TryDescribe(node, links, out var camera, out var reason);
        return camera ?? throw new HostCameraException($"{path}: {reason}", errno);
    }

    /// <summary>The /dev/videoN nodes of <paramref name="deviceDirectory"/>, in numeric order.</summary>
    public static IReadOnlyList<string> VideoNodes(string deviceDirectory = "/dev")
    {
        if (!Directory.Exists(deviceDirectory))
        {
            return [];
        }

        return
        [
            .. Directory.EnumerateFileSystemEntries(deviceDirectory, "video*")
                .Select(p => (Path: p, Number: NodeNumber(Path.GetFileName(p))))
                .Where(p => p.Number >= 0)
                .OrderBy(p => p.Number)
                .Select(p => p.Path),
        ];
    }

    /// <summary>Describes an open device from its answers; null (and the reason) when it is not a capture device.</summary>
    internal static CameraDevice? Describe(IV4l2Query query, string path, IReadOnlyList<string> links, out string? reason)
    {
        var errno = query.QueryCapability(out var capability);
        if (errno != 0)
        {
            reason = errno == Errnos.ENOTTY ? "not a V4L2 device" : $"VIDIOC_QUERYCAP failed: {NativeException.Describe(errno)}";
            return null;
        }

        var caps = capability.NodeCapabilities;
        if ((caps & V4l2.CapVideoCapture) == 0)
        {
            reason = (caps & V4l2.CapVideoCaptureMplane) != 0
                ? "multi-planar capture only (not supported)"
                : $"not a video capture node (capabilities 0x{caps:x8})";
            return null;
        }

        if ((caps & V4l2.CapStreaming) == 0)
        {
            reason = "no streaming I/O (read() only devices are not supported)";
            return null;
        }

        reason = null;
        return new CameraDevice(path, links, capability.CardName, capability.DriverName, capability.Bus, EnumerateFormats(query));
    }

    internal static List<CameraFormat> EnumerateFormats(IV4l2Query query)
    {
        var formats = new List<CameraFormat>();
        for (uint index = 0; index < MaxFormats; index++)
        {
            var desc = new V4l2FmtDesc { Index = index, Type = V4l2.BufTypeVideoCapture };
            if (query.EnumFormat(ref desc) != 0)
            {
                break;
            }

            if (formats.Any(f => f.PixelFormat == desc.PixelFormat))
            {
                continue; // A driver listing a fourcc twice (e.g. once per colorspace) gets one entry.
            }

            formats.Add(EnumerateSizes(query, desc));
        }

        return formats;
    }

    private static CameraFormat EnumerateSizes(IV4l2Query query, V4l2FmtDesc desc)
    {
        var fourcc = desc.PixelFormat;
        var compressed = (desc.Flags & V4l2.FmtFlagCompressed) != 0;
        var sizes = new List<CameraFrameSize>();
        for (uint index = 0; index < MaxSizes; index++)
        {
            var size = new V4l2FrmSizeEnum { Index = index, PixelFormat = fourcc };
            if (query.EnumFrameSize(ref size) != 0)
            {
                break;
            }

            if (size.Type is V4l2.FrmSizeTypeStepwise or V4l2.FrmSizeTypeContinuous)
            {
                // Stepwise and continuous answers come only at index 0 and describe the whole range.
                var continuous = size.Type == V4l2.FrmSizeTypeContinuous;
                var range = new SizeRange(
                    size.MinWidth, size.MaxWidth, continuous ? 1 : Math.Max(1, size.StepWidth),
                    size.MinHeight, size.MaxHeight, continuous ? 1 : Math.Max(1, size.StepHeight));
                var grid = RangeSizes(range).Select(s => SizeWithIntervals(query, fourcc, s.Width, s.Height)).ToList();
                return new CameraFormat(fourcc, desc.DescriptionText, compressed,
                    continuous ? FrameSizeKind.Continuous : FrameSizeKind.Stepwise, range, grid);
            }

            if (size.Type == V4l2.FrmSizeTypeDiscrete && size.DiscreteWidth != 0 && size.DiscreteHeight != 0
                && !sizes.Any(s => s.Width == size.DiscreteWidth && s.Height == size.DiscreteHeight))
            {
                sizes.Add(SizeWithIntervals(query, fourcc, size.DiscreteWidth, size.DiscreteHeight));
            }
        }

        return new CameraFormat(fourcc, desc.DescriptionText, compressed, FrameSizeKind.Discrete, null, sizes);
    }

    /// <summary>The range's minimum and maximum and the standard sizes on its grid, ascending by area.</summary>
    internal static IEnumerable<(uint Width, uint Height)> RangeSizes(SizeRange range) =>
        CameraFormat.StandardSizes
            .Where(s => range.Contains(s.Width, s.Height))
            .Prepend((range.MinWidth, range.MinHeight))
            .Append((range.MaxWidth, range.MaxHeight))
            .Where(s => s.Item1 != 0 && s.Item2 != 0)
            .Distinct()
            .OrderBy(s => (ulong)s.Item1 * s.Item2)
            .ThenBy(s => s.Item1);

    private static CameraFrameSize SizeWithIntervals(IV4l2Query query, uint fourcc, uint width, uint height)
    {
        var intervals = new List<FrameRate>();
        for (uint index = 0; index < MaxIntervals; index++)
        {
            var ival = new V4l2FrmIvalEnum { Index = index, PixelFormat = fourcc, Width = width, Height = height };
            if (query.EnumFrameInterval(ref ival) != 0)
            {
                break;
            }

            if (ival.Type is V4l2.FrmIvalTypeStepwise or V4l2.FrmIvalTypeContinuous)
            {
                var fastest = new FrameRate(ival.Min.Numerator, ival.Min.Denominator);
                var slowest = new FrameRate(ival.Max.Numerator, ival.Max.Denominator);
                var step = ival.Type == V4l2.FrmIvalTypeContinuous
                    ? new FrameRate(1, 1)
                    : new FrameRate(ival.Step.Numerator, ival.Step.Denominator);
                return new CameraFrameSize(width, height, RangeIntervals(fastest, slowest), new IntervalRange(fastest, slowest, step));
            }

            var interval = new FrameRate(ival.Discrete.Numerator, ival.Discrete.Denominator);
            if (ival.Type == V4l2.FrmIvalTypeDiscrete && interval.IsValid && !intervals.Contains(interval))
            {
                intervals.Add(interval);
            }
        }

        intervals.Sort((a, b) => FrameRates.CompareSpeed(b, a));
        return new CameraFrameSize(width, height, intervals);
    }

    /// <summary>The ends of an interval range and the standard rates between them, fastest first.</summary>
    internal static List<FrameRate> RangeIntervals(FrameRate fastest, FrameRate slowest)
    {
        var list = new List<FrameRate>();
        if (fastest.IsValid)
        {
            list.Add(fastest);
        }

        foreach (var fps in CameraFormat.StandardFramesPerSecond)
        {
            var rate = FrameRate.FromFps(fps);
            if ((!fastest.IsValid || FrameRates.CompareSpeed(rate, fastest) <= 0)
                && (!slowest.IsValid || FrameRates.CompareSpeed(rate, slowest) >= 0)
                && !list.Contains(rate))
            {
                list.Add(rate);
            }
        }

        if (slowest.IsValid && !list.Contains(slowest))
        {
            list.Add(slowest);
        }

        list.Sort((a, b) => FrameRates.CompareSpeed(b, a));
        return list;
    }

    private static int TryDescribe(string node, IReadOnlyList<string> links, out CameraDevice? camera, out string? reason)
    {
        camera = null;
        var errno = DeviceFile.TryOpen(node, nonBlocking: true, out var fd);
        if (errno != 0)
        {
            reason = OpenFailure(node, errno);
            return errno;
        }

        using (fd)
        {
            camera = Describe(new DeviceQuery(fd!), node, links, out reason);
            return 0;
        }
    }

    /// <summary>Why a node could not be opened, with what to do about it.</summary>
    internal static string OpenFailure(string node, int errno) => errno switch
    {
        Errnos.EACCES or Errnos.EPERM =>
            $"permission denied ({DescribeOwner(node)}): add the user to the group that owns it (usually 'video': "
            + "usermod -aG video USER, then log in again) or run as root",
        Errnos.ENOENT => "no such device node",
        Errnos.ENODEV or Errnos.ENXIO => "the device is gone (unplugged or its driver unbound)",
        Errnos.EBUSY => "the device is busy (held exclusively by another program)",
        _ => $"cannot open: {NativeException.Describe(errno)}",
    };

    private static string DescribeOwner(string node)
    {
        if (!OperatingSystem.IsLinux())
        {
            return "mode unknown";
        }

        try
        {
            var mode = File.GetUnixFileMode(node);
            return $"mode {Convert.ToString((int)mode, 8)}";
        }
        catch (IOException)
        {
            return "mode unknown";
        }
        catch (UnauthorizedAccessException)
        {
            return "mode unknown";
        }
    }

    private static int NodeNumber(string name) =>
        name.StartsWith("video", StringComparison.Ordinal)
        && int.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1;
}
