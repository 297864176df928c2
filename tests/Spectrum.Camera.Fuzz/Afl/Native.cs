using System.Runtime.InteropServices;

namespace Spectrum.Camera.Fuzz.Afl;

/// <summary>The few libc calls the AFL forkserver protocol and the harness need beyond Spectrum.Camera.Native.</summary>
internal static unsafe partial class Native
{
    public const int SolSocket = 1;
    public const int SoSndBufForce = 32;
    public const int SoRcvBufForce = 33;
    public const int ShutWr = 1;

    [LibraryImport("libc", EntryPoint = "shmat", SetLastError = true)]
    public static partial nint ShmAt(int shmId, nint address, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, void* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "_exit")]
    public static partial void Exit(int status);

    [LibraryImport("libc", EntryPoint = "getpid")]
    public static partial int GetPid();

    [LibraryImport("libc", EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, int* value, uint length);

    /// <summary>Root may raise socket buffers past rmem_max/wmem_max (SO_*BUFFORCE); others get what the kernel allows.</summary>
    public static void EnlargeSocketBuffers(int fd, int bytes)
    {
        var value = bytes;
        _ = SetSockOpt(fd, SolSocket, SoSndBufForce, &value, sizeof(int));
        _ = SetSockOpt(fd, SolSocket, SoRcvBufForce, &value, sizeof(int));
    }
}
