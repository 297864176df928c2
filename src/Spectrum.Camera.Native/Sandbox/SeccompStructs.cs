using System.Runtime.InteropServices;

namespace Spectrum.Camera.Native.Sandbox;

// Classic BPF and seccomp layouts (x86_64); NativeLayoutTests checks them against <linux/filter.h> and <linux/seccomp.h>.

/// <summary>struct sock_filter: one classic BPF instruction (8 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly struct SockFilter(ushort code, byte jumpTrue, byte jumpFalse, uint k)
{
    public readonly ushort Code = code;
    public readonly byte JumpTrue = jumpTrue;
    public readonly byte JumpFalse = jumpFalse;
    public readonly uint K = k;

    public override string ToString() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{{ 0x{Code:x2}, {JumpTrue}, {JumpFalse}, 0x{K:x8} }}");
}

/// <summary>struct sock_fprog: the program handed to seccomp(2).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SockFprog
{
    public ushort Length;
    public SockFilter* Filter;
}

/// <summary>struct seccomp_data: what a seccomp filter reads (system call number, audit arch, arguments).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct SeccompData
{
    public int Nr;
    public uint Arch;
    public ulong InstructionPointer;
    public fixed ulong Args[6];

    // Offsets for the filter's loads, taken from the struct itself (no reflection, so trimming cannot affect them).
    public static uint NrOffset
    {
        get
        {
            SeccompData d = default;
            return (uint)((byte*)&d.Nr - (byte*)&d);
        }
    }

    public static uint ArchOffset
    {
        get
        {
            SeccompData d = default;
            return (uint)((byte*)&d.Arch - (byte*)&d);
        }
    }

    public static uint ArgsOffset
    {
        get
        {
            SeccompData d = default;
            return (uint)((byte*)d.Args - (byte*)&d);
        }
    }
}
