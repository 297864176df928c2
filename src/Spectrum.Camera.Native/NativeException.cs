using System.Runtime.InteropServices;
using Tmds.Linux;

namespace Spectrum.Camera.Native;

/// <summary>A failed system call on the host side. Carries the Linux errno and the call's name.</summary>
public sealed class NativeException : IOException
{
    public NativeException(string call, int errno)
        : base($"{call} failed: {Describe(errno)} (errno {errno})")
    {
        Call = call;
        Errno = errno;
    }

    public string Call { get; }

    public int Errno { get; }

    /// <summary>True for EPIPE and ECONNRESET: the peer of a socket has gone away.</summary>
    public bool IsPeerGone => Errno == LibC.EPIPE || Errno == LibC.ECONNRESET;

    /// <summary>Throws for the last errno of a call that returned -1.</summary>
    internal static NativeException Last(string call) => new(call, Marshal.GetLastPInvokeError());

    /// <summary>strerror text for an errno (the XSI strerror_r, which fills a buffer of ours: no shared static).</summary>
    public static unsafe string Describe(int errno)
    {
        const int Capacity = 256;
        var text = stackalloc byte[Capacity];
        return LibC.strerror_r(errno, text, Capacity) == 0
            ? Marshal.PtrToStringUTF8((nint)text) ?? $"errno {errno}"
            : $"errno {errno}";
    }
}
