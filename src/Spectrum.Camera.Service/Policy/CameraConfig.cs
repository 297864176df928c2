using System.Text;

namespace Spectrum.Camera.Service.Policy;

/// <summary>
/// One camera the service owns (<c>--camera NAME=SPEC</c>): the name operators assign VMs to, and the spec
/// <see cref="Feeds.CameraFeeds.Create"/> opens (a V4L2 path, <c>test-pattern[:N]</c>, or <c>vm:VM</c> for a camera VM).
/// </summary>
public readonly record struct CameraConfig(string Name, string Spec)
{
    /// <summary>The longest camera name (the same rule as VM names).</summary>
    public const int MaxNameLength = VmConfig.MaxNameLength;

    /// <summary>
    /// Parses <c>NAME=SPEC</c>, or a bare <c>SPEC</c>, which is named after it: <c>test-pattern</c>,
    /// <c>test-pattern-N</c> for <c>test-pattern:N</c>, the VM's name for <c>vm:VM</c>, or a path's last component
    /// (<c>/dev/video0</c> is <c>video0</c>), with characters a name cannot hold turned into '-'. Throws
    /// <see cref="FormatException"/>.
    /// </summary>
    public static CameraConfig Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var eq = value.IndexOf('=', StringComparison.Ordinal);
        if (eq < 0)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new FormatException("--camera needs NAME=PATH, PATH, test-pattern[:N] or vm:VM");
            }

            return new CameraConfig(NameFor(value), CheckSpec(value, value));
        }

        var name = value[..eq];
        var spec = value[(eq + 1)..];
        if (!IsValidName(name))
        {
            throw new FormatException(
                $"--camera '{value}': the camera name '{name}' must be 1 to {MaxNameLength} characters of A-Z a-z 0-9 . _ - "
                + "starting with a letter or digit (expected NAME=PATH)");
        }

        if (string.IsNullOrWhiteSpace(spec))
        {
            throw new FormatException($"--camera '{value}': no device after '=' (expected NAME=PATH or NAME=test-pattern[:N])");
        }

        return new CameraConfig(name, CheckSpec(value, spec));
    }

    /// <summary>The camera VM a <c>vm:VM</c> spec names, or null for any other camera.</summary>
    public string? ProducerVm => VmOf(Spec);

    /// <summary>True when <paramref name="name"/> matches <c>[A-Za-z0-9][A-Za-z0-9._-]{0,63}</c>.</summary>
    public static bool IsValidName(string? name) => VmConfig.IsValidName(name);

    public override string ToString() => $"{Name}={Spec}";

    private static string? VmOf(string spec) =>
        spec.StartsWith(Feeds.ProducerCameraFeed.SpecPrefix, StringComparison.Ordinal) ? spec[Feeds.ProducerCameraFeed.SpecPrefix.Length..] : null;

    private static string CheckSpec(string value, string spec) =>
        VmOf(spec) is { } vm && !VmConfig.IsValidName(vm)
            ? throw new FormatException(
                $"--camera '{value}': '{spec}' must name a camera VM as {Feeds.ProducerCameraFeed.SpecPrefix}VM, VM being a name given to --vm")
            : spec;

    private static string NameFor(string spec)
    {
        if (VmOf(spec) is { } vm)
        {
            return vm;
        }

        var last = spec.TrimEnd('/');
        last = last[(last.LastIndexOf('/') + 1)..];
        var name = new StringBuilder(last.Length);
        foreach (var c in last)
        {
            name.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-');
        }

        if (name.Length == 0 || !char.IsAsciiLetterOrDigit(name[0]))
        {
            name.Insert(0, "camera-");
        }

        return name.Length > MaxNameLength ? name.ToString(0, MaxNameLength) : name.ToString();
    }
}
