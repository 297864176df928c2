using Mono.Cecil;
using Mono.Cecil.Cil;
using Mono.Cecil.Rocks;

namespace Spectrum.Camera.Fuzz.Afl;

/// <summary>
/// Adds AFL edge coverage to compiled assemblies with Mono.Cecil, as SharpFuzz's instrumenter does (SharpFuzz itself is
/// not on the package source here). At the start of every basic block (method entry, branch targets, fall-through
/// after a branch, try/catch/filter starts) it inserts the stack-neutral sequence
/// <c>Trace.SharedMem[cur ^ Trace.PrevLocation]++; Trace.PrevLocation = cur >> 1;</c>. The block's first instruction
/// is turned into the probe's first instruction and its original opcode moves behind the probe, so every branch and
/// exception-handler boundary that pointed at the block now points at its probe without being rewritten.
/// </summary>
internal static class Instrumenter
{
    private const string MarkerType = "<SpectrumFuzzInstrumented>";

    /// <summary>Instruments <paramref name="assemblyPath"/> in place; returns the number of probes (0 if already done).</summary>
    public static int Instrument(string assemblyPath, string traceAssemblyPath)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(assemblyPath))!;
        using var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(directory);
        resolver.AddSearchDirectory(Path.GetDirectoryName(typeof(object).Assembly.Location)!);
        var readerParameters = new ReaderParameters { AssemblyResolver = resolver, InMemory = true, ReadSymbols = false };
        using var module = ModuleDefinition.ReadModule(assemblyPath, readerParameters);
        if (module.Types.Any(t => t.Name == MarkerType))
        {
            return 0;
        }

        using var traceModule = ModuleDefinition.ReadModule(traceAssemblyPath, readerParameters);
        var traceType = traceModule.GetType(typeof(Trace).FullName) ?? throw new InvalidOperationException("Trace type not found");
        var sharedMem = module.ImportReference(traceType.Fields.Single(f => f.Name == nameof(Trace.SharedMem)));
        var previous = module.ImportReference(traceType.Fields.Single(f => f.Name == nameof(Trace.PrevLocation)));

        // Block ids are fixed per assembly name, so a corpus keeps its meaning across builds of the same code.
        var random = new Random(StableHash(module.Assembly.Name.Name));
        var probes = 0;
        foreach (var type in module.GetTypes())
        {
            foreach (var method in type.Methods.Where(m => m.HasBody && m.Body.Instructions.Count > 0))
            {
                probes += InstrumentMethod(method, sharedMem, previous, random);
            }
        }

        module.Types.Add(new TypeDefinition("", MarkerType, TypeAttributes.NotPublic | TypeAttributes.Abstract | TypeAttributes.Sealed,
            module.TypeSystem.Object));
        module.Write(assemblyPath);
        return probes;
    }

    private static int InstrumentMethod(MethodDefinition method, FieldReference sharedMem, FieldReference previous, Random random)
    {
        var body = method.Body;
        body.SimplifyMacros();
        var instructions = body.Instructions;
        var starts = new List<Instruction> { instructions[0] };
        foreach (var instruction in instructions)
        {
            switch (instruction.Operand)
            {
                case Instruction target:
                    starts.Add(target);
                    if (instruction.Next is not null)
                    {
                        starts.Add(instruction.Next);
                    }

                    break;
                case Instruction[] targets:
                    starts.AddRange(targets);
                    if (instruction.Next is not null)
                    {
                        starts.Add(instruction.Next);
                    }

                    break;
            }
        }

        foreach (var handler in body.ExceptionHandlers)
        {
            starts.Add(handler.TryStart);
            starts.Add(handler.HandlerStart);
            if (handler.FilterStart is not null)
            {
                starts.Add(handler.FilterStart);
            }
        }

        var il = body.GetILProcessor();
        var unique = starts.Distinct().ToList();
        foreach (var start in unique)
        {
            var id = random.Next(Trace.MapSize);
            var moved = il.Create(OpCodes.Nop);
            moved.OpCode = start.OpCode;
            moved.Operand = start.Operand;
            start.OpCode = OpCodes.Ldsfld;
            start.Operand = sharedMem;
            Instruction[] probe =
            [
                il.Create(OpCodes.Ldc_I4, id),
                il.Create(OpCodes.Ldsfld, previous),
                il.Create(OpCodes.Xor),
                il.Create(OpCodes.Conv_U),
                il.Create(OpCodes.Add),
                il.Create(OpCodes.Dup),
                il.Create(OpCodes.Ldind_U1),
                il.Create(OpCodes.Ldc_I4_1),
                il.Create(OpCodes.Add),
                il.Create(OpCodes.Stind_I1),
                il.Create(OpCodes.Ldc_I4, id >> 1),
                il.Create(OpCodes.Stsfld, previous),
                moved,
            ];
            var after = start;
            foreach (var instruction in probe)
            {
                il.InsertAfter(after, instruction);
                after = instruction;
            }
        }

        body.OptimizeMacros();
        return unique.Count;
    }

    private static int StableHash(string text)
    {
        var hash = 17;
        foreach (var c in text)
        {
            hash = unchecked((hash * 31) + c);
        }

        return hash;
    }
}
