using Tmds.Linux;

namespace Spectrum.Camera.Native;

/// <summary>
/// The few file-system calls .NET has no API for: chown (socket ownership is the VM identity model), fsync of a
/// directory (so an atomic rename survives a crash) and the effective uid.
/// </summary>
public static class PosixFiles
{
    /// <summary>The effective uid of this process.</summary>
    public static uint EffectiveUid => LibC.geteuid();

    /// <summary>chown(2). <paramref name="gid"/> uint.MaxValue (-1) leaves the group unchanged.</summary>
    public static unsafe void Chown(string path, uint uid, uint gid = uint.MaxValue)
    {
        fixed (byte* cPath = CString.Of(path))
        {
            if (LibC.chown(cPath, uid, gid) != 0)
            {
                throw NativeException.Last($"chown({path})");
            }
        }
    }

    /// <summary>Flushes a directory's entries to disk (after a rename or create inside it).</summary>
    public static unsafe void FSyncDirectory(string path)
    {
        FdHandle directory;
        fixed (byte* cPath = CString.Of(path))
        {
            directory = FdHandle.FromResult(LibC.open(cPath, LibC.O_RDONLY | LibC.O_DIRECTORY | LibC.O_CLOEXEC, default), $"open({path})");
        }

        using var fd = directory;
        if (LibC.fsync(fd.Fd) != 0)
        {
            throw NativeException.Last($"fsync({path})");
        }
    }
}
