using Tmds.Linux;
using static Spectrum.Camera.Native.LinuxConstants;

namespace Spectrum.Camera.Native;

/// <summary>Anonymous shared memory files (memfd_create), as QEMU's memory-backend-memfd uses for guest RAM.</summary>
public static class MemFd
{
    /// <summary>The seals a frame ring gets once its writer has mapped it: fixed size, no new writable mappings.</summary>
    public static int ReadOnlyForOthersSeals { get; } =
        LibC.F_SEAL_SHRINK | LibC.F_SEAL_GROW | F_SEAL_FUTURE_WRITE | LibC.F_SEAL_SEAL;

    /// <summary>
    /// The seals of a memfd whose size must never change once set: a device-owned buffer handed to the VMM, or a frame
    /// ring another process writes (a camera VM's producer). Nobody can shrink it under a mapping, which would turn a
    /// later access into SIGBUS, grow it, or add seals (so the writer cannot take the other side's mapping away either).
    /// </summary>
    public static int FixedSizeSeals { get; } = LibC.F_SEAL_SHRINK | LibC.F_SEAL_GROW | LibC.F_SEAL_SEAL;

    /// <summary>The memfd_create flags of <see cref="CreateSealable"/>, the only ones the sidecar's sandbox lets through.</summary>
    public static uint SealableFlags => LibC.MFD_CLOEXEC | LibC.MFD_ALLOW_SEALING;

    /// <summary>Creates a close-on-exec memfd of <paramref name="size"/> bytes.</summary>
    public static FdHandle Create(string name, ulong size) => Create(name, size, LibC.MFD_CLOEXEC);

    /// <summary>Creates a close-on-exec memfd of <paramref name="size"/> bytes that accepts seals (<see cref="AddSeals"/>).</summary>
    public static FdHandle CreateSealable(string name, ulong size) => Create(name, size, SealableFlags);

    /// <summary>
    /// Adds <paramref name="seals"/> (F_ADD_SEALS). With <see cref="ReadOnlyForOthersSeals"/>, mappings made before
    /// stay writable while nobody (including whoever receives the fd) can map it writable, resize it or unseal it.
    /// </summary>
    public static void AddSeals(FdHandle fd, int seals)
    {
        ArgumentNullException.ThrowIfNull(fd);
        if (LibC.fcntl(fd.Fd, LibC.F_ADD_SEALS, seals) != 0)
        {
            throw NativeException.Last("fcntl(F_ADD_SEALS)");
        }
    }

    /// <summary>The seals on <paramref name="fd"/> (F_GET_SEALS), or -1 when it is not a sealable memfd.</summary>
    public static int GetSeals(FdHandle fd)
    {
        ArgumentNullException.ThrowIfNull(fd);
        return LibC.fcntl(fd.Fd, LibC.F_GET_SEALS, 0);
    }

    private static unsafe FdHandle Create(string name, ulong size, uint flags)
    {
        FdHandle fd;
        fixed (byte* cName = CString.Of(name))
        {
            fd = FdHandle.FromResult(LibC.memfd_create(cName, flags), "memfd_create");
        }

        if (LibC.ftruncate(fd.Fd, checked((long)size)) != 0)
        {
            var e = NativeException.Last("ftruncate");
            fd.Dispose();
            throw e;
        }

        return fd;
    }
}
