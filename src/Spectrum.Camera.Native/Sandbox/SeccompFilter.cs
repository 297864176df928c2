using System.Runtime.CompilerServices;
using static Spectrum.Camera.Native.LinuxConstants;

namespace Spectrum.Camera.Native.Sandbox;

/// <summary>What a filter does with one system call.</summary>
public enum SeccompRuleKind
{
    /// <summary>Allowed with any arguments.</summary>
    Allow,

    /// <summary>Allowed when the low 32 bits of one argument equal one of the listed values; refused otherwise.</summary>
    AllowIfArgEquals,

    /// <summary>Allowed when one argument has any bit of the mask set; refused otherwise.</summary>
    AllowIfArgHasAnyBit,

    /// <summary>Allowed when one argument has no bit of the mask set; refused otherwise.</summary>
    AllowIfArgHasNoBit,

    /// <summary>Allowed when one (pointer) argument is NULL: both 32-bit halves are zero; refused otherwise.</summary>
    AllowIfArgIsNull,

    /// <summary>Fails with a chosen errno (e.g. ENOSYS, so a caller falls back to an older call the filter can inspect).</summary>
    Errno,

    /// <summary>Kills the whole process (SIGSYS): a call the program never needs and an attacker wants.</summary>
    KillProcess,
}

/// <summary>One system call's rule. <see cref="Name"/> is the syscall's name (from its SYS_ constant).</summary>
public sealed record SeccompRule(string Name, int Number, SeccompRuleKind Kind, int Argument = 0, uint[]? Values = null, uint Mask = 0, int Errno = 0)
{
    public bool CanAllow => Kind is SeccompRuleKind.Allow or SeccompRuleKind.AllowIfArgEquals
        or SeccompRuleKind.AllowIfArgHasAnyBit or SeccompRuleKind.AllowIfArgHasNoBit or SeccompRuleKind.AllowIfArgIsNull;

    public override string ToString() => Kind switch
    {
        SeccompRuleKind.Allow => $"allow {Name}",
        SeccompRuleKind.AllowIfArgEquals => $"allow {Name} if arg{Argument} in [{string.Join(", ", Values!.Select(v => $"0x{v:x}"))}]",
        SeccompRuleKind.AllowIfArgHasAnyBit => $"allow {Name} if arg{Argument} & 0x{Mask:x} != 0",
        SeccompRuleKind.AllowIfArgHasNoBit => $"allow {Name} if arg{Argument} & 0x{Mask:x} == 0",
        SeccompRuleKind.AllowIfArgIsNull => $"allow {Name} if arg{Argument} == NULL",
        SeccompRuleKind.Errno => $"errno {Errno} {Name}",
        _ => $"kill {Name}",
    };
}

/// <summary>
/// A seccomp allowlist compiled to classic BPF. The program checks the audit architecture first (anything but
/// x86_64, e.g. a 32-bit int 0x80 call, kills the process), kills x32-ABI numbers, then tests the rules in order, two
/// or a few instructions each so no jump needs more than the 8-bit offset, and ends with the default action.
/// Arguments are compared on their low 32 bits, which is exact for the int arguments filtered here (socket's domain,
/// openat's flags, tgkill's tgid; the upper half of an int argument's register is undefined in the ABI) and for
/// clone's flags, which the kernel truncates to 32 bits. A pointer that must be NULL is checked on both halves.
/// </summary>
public sealed class SeccompFilter
{
    private static readonly uint NrOffset = SeccompData.NrOffset;
    private static readonly uint ArchOffset = SeccompData.ArchOffset;
    private static readonly uint ArgsOffset = SeccompData.ArgsOffset;

    private SeccompFilter(IReadOnlyList<SeccompRule> rules, int defaultErrno, SockFilter[] program)
    {
        Rules = rules;
        DefaultErrno = defaultErrno;
        Program = program;
    }

    public IReadOnlyList<SeccompRule> Rules { get; }

    /// <summary>The errno every system call without a rule fails with.</summary>
    public int DefaultErrno { get; }

    /// <summary>How many system calls the filter can let through (unconditionally or with argument checks).</summary>
    public int AllowedCount => Rules.Count(r => r.CanAllow);

    public int InstructionCount => Program.Length;

    internal SockFilter[] Program { get; }

    public static Builder Create(int defaultErrno = Errnos.EPERM) => new(defaultErrno);

    /// <summary>
    /// Runs the program on one call the way the kernel would (a tiny classic-BPF interpreter for the instructions the
    /// builder emits), so tests can check the compiled program without installing it.
    /// </summary>
    public uint Evaluate(int number, uint arch = AUDIT_ARCH_X86_64, params ulong[] args)
    {
        uint a = 0;
        for (var pc = 0; pc < Program.Length; pc++)
        {
            var i = Program[pc];
            switch (i.Code)
            {
                case BPF_LD | BPF_W | BPF_ABS:
                    a = i.K == NrOffset ? (uint)number
                        : i.K == ArchOffset ? arch
                        : ArgumentWord(args, i.K);
                    break;
                case BPF_JMP | BPF_JEQ | BPF_K:
                    pc += a == i.K ? i.JumpTrue : i.JumpFalse;
                    break;
                case BPF_JMP | BPF_JSET | BPF_K:
                    pc += (a & i.K) != 0 ? i.JumpTrue : i.JumpFalse;
                    break;
                case BPF_JMP | BPF_JGE | BPF_K:
                    pc += a >= i.K ? i.JumpTrue : i.JumpFalse;
                    break;
                case BPF_RET | BPF_K:
                    return i.K;
                default:
                    throw new InvalidOperationException($"instruction {pc} has an unexpected code 0x{i.Code:x}");
            }
        }

        throw new InvalidOperationException("the program fell off its end");
    }

    // A 32-bit word of seccomp_data.args (little endian: the low half first).
    private static uint ArgumentWord(ulong[] args, uint offset)
    {
        var index = (int)((offset - ArgsOffset) / 8);
        var value = index < args.Length ? args[index] : 0;
        return (offset - ArgsOffset) % 8 == 0 ? (uint)value : (uint)(value >> 32);
    }

    /// <summary>Collects rules (each system call at most once) and compiles them.</summary>
    public sealed class Builder
    {
        private readonly int _defaultErrno;
        private readonly List<SeccompRule> _rules = [];

        internal Builder(int defaultErrno) => _defaultErrno = defaultErrno;

        internal Builder Allow(int number, [CallerArgumentExpression(nameof(number))] string name = "") =>
            Add(new SeccompRule(NameOf(name), number, SeccompRuleKind.Allow));

        internal Builder AllowIfArgEquals(int number, int argument, uint[] values, [CallerArgumentExpression(nameof(number))] string name = "") =>
            Add(new SeccompRule(NameOf(name), number, SeccompRuleKind.AllowIfArgEquals, argument, values));

        internal Builder AllowIfArgHasAnyBit(int number, int argument, uint mask, [CallerArgumentExpression(nameof(number))] string name = "") =>
            Add(new SeccompRule(NameOf(name), number, SeccompRuleKind.AllowIfArgHasAnyBit, argument, Mask: mask));

        internal Builder AllowIfArgHasNoBit(int number, int argument, uint mask, [CallerArgumentExpression(nameof(number))] string name = "") =>
            Add(new SeccompRule(NameOf(name), number, SeccompRuleKind.AllowIfArgHasNoBit, argument, Mask: mask));

        internal Builder AllowIfArgIsNull(int number, int argument, [CallerArgumentExpression(nameof(number))] string name = "") =>
            Add(new SeccompRule(NameOf(name), number, SeccompRuleKind.AllowIfArgIsNull, argument));

        internal Builder Fail(int number, int errno, [CallerArgumentExpression(nameof(number))] string name = "") =>
            Add(new SeccompRule(NameOf(name), number, SeccompRuleKind.Errno, Errno: errno));

        internal Builder Kill(int number, [CallerArgumentExpression(nameof(number))] string name = "") =>
            Add(new SeccompRule(NameOf(name), number, SeccompRuleKind.KillProcess));

        public SeccompFilter Build()
        {
            var deny = SECCOMP_RET_ERRNO | ((uint)_defaultErrno & SECCOMP_RET_DATA);
            var p = new List<SockFilter>
            {
                Load(ArchOffset),
                Jump(BPF_JEQ, AUDIT_ARCH_X86_64, 1, 0),
                Return(SECCOMP_RET_KILL_PROCESS),
                Load(NrOffset),
                Jump(BPF_JGE, __X32_SYSCALL_BIT, 0, 1),
                Return(SECCOMP_RET_KILL_PROCESS),
            };
            foreach (var r in _rules)
            {
                var number = (uint)r.Number;
                var argument = ArgsOffset + ((uint)r.Argument * 8);
                switch (r.Kind)
                {
                    case SeccompRuleKind.Allow:
                        p.Add(Jump(BPF_JEQ, number, 0, 1));
                        p.Add(Return(SECCOMP_RET_ALLOW));
                        break;
                    case SeccompRuleKind.Errno:
                        p.Add(Jump(BPF_JEQ, number, 0, 1));
                        p.Add(Return(SECCOMP_RET_ERRNO | ((uint)r.Errno & SECCOMP_RET_DATA)));
                        break;
                    case SeccompRuleKind.KillProcess:
                        p.Add(Jump(BPF_JEQ, number, 0, 1));
                        p.Add(Return(SECCOMP_RET_KILL_PROCESS));
                        break;
                    case SeccompRuleKind.AllowIfArgEquals:
                        // Not this call: skip the block. Otherwise load the argument, allow on a match, else deny.
                        // Every path through the block returns, so A holds the number again for the next rule.
                        p.Add(Jump(BPF_JEQ, number, 0, checked((byte)(2 + (2 * r.Values!.Length)))));
                        p.Add(Load(argument));
                        foreach (var v in r.Values)
                        {
                            p.Add(Jump(BPF_JEQ, v, 0, 1));
                            p.Add(Return(SECCOMP_RET_ALLOW));
                        }

                        p.Add(Return(deny));
                        break;
                    case SeccompRuleKind.AllowIfArgHasAnyBit:
                    case SeccompRuleKind.AllowIfArgHasNoBit:
                        var anyBitAllows = r.Kind == SeccompRuleKind.AllowIfArgHasAnyBit;
                        p.Add(Jump(BPF_JEQ, number, 0, 4));
                        p.Add(Load(argument));
                        p.Add(Jump(BPF_JSET, r.Mask, 0, 1));
                        p.Add(Return(anyBitAllows ? SECCOMP_RET_ALLOW : deny));
                        p.Add(Return(anyBitAllows ? deny : SECCOMP_RET_ALLOW));
                        break;
                    case SeccompRuleKind.AllowIfArgIsNull:
                        p.Add(Jump(BPF_JEQ, number, 0, 6));
                        p.Add(Load(argument));
                        p.Add(Jump(BPF_JEQ, 0u, 0, 2));
                        p.Add(Load(argument + 4));
                        p.Add(Jump(BPF_JEQ, 0u, 1, 0));
                        p.Add(Return(deny));
                        p.Add(Return(SECCOMP_RET_ALLOW));
                        break;
                }
            }

            p.Add(Return(deny));
            if (p.Count > BPF_MAXINSNS)
            {
                throw new InvalidOperationException($"the filter has {p.Count} instructions, more than the kernel's {BPF_MAXINSNS}");
            }

            return new SeccompFilter(_rules.ToArray(), _defaultErrno, [.. p]);
        }

        private Builder Add(SeccompRule rule)
        {
            if (rule.Argument is < 0 or > 5)
            {
                throw new ArgumentOutOfRangeException(nameof(rule), $"{rule.Name}: argument index {rule.Argument} is not 0-5");
            }

            if (rule.Kind == SeccompRuleKind.AllowIfArgEquals && rule.Values is not { Length: > 0 and <= 64 })
            {
                throw new ArgumentException($"{rule.Name}: between 1 and 64 argument values");
            }

            if (_rules.Any(r => r.Number == rule.Number))
            {
                throw new ArgumentException($"{rule.Name} (system call {rule.Number}) already has a rule");
            }

            _rules.Add(rule);
            return this;
        }

        // "SYS_read" (the argument expression) -> "read"; a bare number keeps its text.
        private static string NameOf(string expression)
        {
            var dot = expression.LastIndexOf('.');
            var name = dot >= 0 ? expression[(dot + 1)..] : expression;
            return name.StartsWith("SYS_", StringComparison.Ordinal) ? name[4..] : name;
        }

        private static SockFilter Load(uint offset) => new(BPF_LD | BPF_W | BPF_ABS, 0, 0, offset);

        private static SockFilter Jump(ushort test, uint k, byte jumpTrue, byte jumpFalse) =>
            new((ushort)(BPF_JMP | test | BPF_K), jumpTrue, jumpFalse, k);

        private static SockFilter Jump(ushort test, int k, byte jumpTrue, byte jumpFalse) => Jump(test, (uint)k, jumpTrue, jumpFalse);

        private static SockFilter Return(uint action) => new(BPF_RET | BPF_K, 0, 0, action);
    }
}
