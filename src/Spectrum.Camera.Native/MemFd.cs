namespace Spectrum.Camera.Native;

/// <summary>Anonymous shared memory files (memfd_create), as QEMU's memory-backend-memfd uses for guest RAM.</summary>
public static class MemFd
{
    /// <summary>Creates a close-on-exec memfd of <paramref name="size"/> bytes.</summary>
    public static FdHandle Create(string name, ulong size)
    {
        var fd = FdHandle.FromResult(Libc.MemfdCreate(name, LinuxConstants.MFD_CLOEXEC), "memfd_create");
        if (Libc.FTruncate(fd.Fd, checked((long)size)) != 0)
        {
            var e = NativeException.Last("ftruncate");
            fd.Dispose();
            throw e;
        }

        return fd;
    }
}
