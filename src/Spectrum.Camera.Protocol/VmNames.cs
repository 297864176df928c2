namespace Spectrum.Camera.Protocol;

/// <summary>
/// The VM names the camera service and the sidecars accept: they name sockets, policy entries and audit records, so they are short
/// and plain ([A-Za-z0-9][A-Za-z0-9._-]{0,63}).
/// </summary>
public static class VmNames
{
    public const int MaxLength = 64;

    public const string Pattern = "[A-Za-z0-9][A-Za-z0-9._-]{0,63}";

    public static bool IsValid(string vm)
    {
        ArgumentNullException.ThrowIfNull(vm);
        if (vm.Length is 0 or > MaxLength || !char.IsAsciiLetterOrDigit(vm[0]))
        {
            return false;
        }

        foreach (var c in vm)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
