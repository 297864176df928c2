using System.Globalization;
using Spectrum.Camera.Protocol;

namespace Spectrum.Camera.Service.Policy;

/// <summary>
/// One configured VM (<c>--vm NAME[:UID]</c>): its name, which names its socket, policy entry and audit lines, and
/// the uid its sidecar runs as (the owner of its socket, checked with SO_PEERCRED).
/// </summary>
public readonly record struct VmConfig(string Name, uint Uid)
{
    /// <summary>The longest VM name (it becomes a socket file name: RUNTIME_DIR/vms/NAME.sock).</summary>
    public const int MaxNameLength = VmNames.MaxLength;

    /// <summary>
    /// Parses <c>NAME[:UID]</c>; without UID the VM gets <paramref name="defaultUid"/> (the service's uid).
    /// Throws <see cref="FormatException"/> saying what is wrong.
    /// </summary>
    public static VmConfig Parse(string spec, uint defaultUid)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? spec : spec[..colon];
        if (!IsValidName(name))
        {
            throw new FormatException(
                $"--vm '{spec}': the VM name '{name}' must be 1 to {MaxNameLength} characters of A-Z a-z 0-9 . _ - "
                + "starting with a letter or digit (expected NAME or NAME:UID)");
        }

        if (colon < 0)
        {
            return new VmConfig(name, defaultUid);
        }

        var uidText = spec[(colon + 1)..];
        if (!uint.TryParse(uidText, NumberStyles.None, CultureInfo.InvariantCulture, out var uid) || uid == uint.MaxValue)
        {
            throw new FormatException(
                $"--vm '{spec}': the uid '{uidText}' must be a number from 0 to {uint.MaxValue - 1} (expected NAME:UID)");
        }

        return new VmConfig(name, uid);
    }

    /// <summary>True when <paramref name="name"/> is a name the service and the sidecars accept (<see cref="VmNames"/>).</summary>
    public static bool IsValidName(string? name) => name is not null && VmNames.IsValid(name);

    public override string ToString() => $"{Name}:{Uid.ToString(CultureInfo.InvariantCulture)}";
}
