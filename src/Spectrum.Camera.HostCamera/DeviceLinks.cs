namespace Spectrum.Camera.Host;

/// <summary>
/// udev's stable names for video nodes: /dev/v4l/by-id/* (USB serial-based, survives re-plugging into another port)
/// and /dev/v4l/by-path/* (port-based). /dev/videoN numbers are handed out in probe order and can change when a
/// camera is re-plugged, so configurations should name a camera by one of these links.
/// </summary>
public static class DeviceLinks
{
    private static readonly string[] LinkDirectories = ["v4l/by-id", "v4l/by-path"];

    /// <summary>
    /// Maps each node (full path, e.g. /dev/video0) to the links under <paramref name="deviceDirectory"/>/v4l/by-id and
    /// by-path that resolve to it, by-id first. Dangling links are left out.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Scan(string deviceDirectory = "/dev")
    {
        var map = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var sub in LinkDirectories)
        {
            var dir = Path.Combine(deviceDirectory, sub);
            if (!Directory.Exists(dir))
            {
                continue;
            }

            foreach (var link in Directory.EnumerateFileSystemEntries(dir).Order(StringComparer.Ordinal))
            {
                if (TryResolveLink(link) is { } target && File.Exists(target))
                {
                    if (!map.TryGetValue(target, out var list))
                    {
                        map[target] = list = [];
                    }

                    list.Add(link);
                }
            }
        }

        return map.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value, StringComparer.Ordinal);
    }

    /// <summary>
    /// The device node <paramref name="path"/> names: the final target of a link (relative targets such as
    /// ../../video0 are resolved against the link's directory), or the path itself, made absolute.
    /// </summary>
    public static string ResolveNode(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return TryResolveLink(path) ?? Path.GetFullPath(path);
    }

    private static string? TryResolveLink(string path)
    {
        try
        {
            var info = new FileInfo(path);
            return info.LinkTarget is null ? null : info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
