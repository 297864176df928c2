namespace Spectrum.Camera.Native;

/// <summary>
/// The few file-system calls .NET has no API for: chown (socket ownership is the VM identity model), fsync of a
/// directory (so an atomic rename survives a crash) and the effective uid.
/// </summary>
public static class PosixFiles
{
    /// <summary>The effective uid of this process.</summary>
    public static uint EffectiveUid => Libc.GetEuid();

    /// <summary>chown(2). <paramref name="gid"/> uint.MaxValue (-1) leaves the group unchanged.</summary>
    public static void Chown(string path, uint uid, uint gid = uint.MaxValue)
    {
        if (Libc.Chown(path, uid, gid) != 0)
        {
            throw NativeException.Last($"chown({path})");
        }
    }

    /// <summary>Flushes a directory's entries to disk (after a rename or create inside it).</summary>
    public static void FSyncDirectory(string path)
    {
        using var fd = FdHandle.FromResult(
            Libc.Open(path, LinuxConstants.O_RDONLY | LinuxConstants.O_DIRECTORY | LinuxConstants.O_CLOEXEC, 0), $"open({path})");
        if (Libc.FSync(fd.Fd) != 0)
        {
            throw NativeException.Last($"fsync({path})");
        }
    }
}
