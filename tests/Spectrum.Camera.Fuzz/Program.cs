using Spectrum.Camera.Fuzz.Afl;
using Spectrum.Camera.Fuzz.Targets;
using Spectrum.Camera.Native;
using Spectrum.Camera.Native.Diagnostics;

namespace Spectrum.Camera.Fuzz;

/// <summary>
/// spectrum-camera-fuzz: the AFL++ harness for the three guest-facing parsers (docs/fuzzing.md).
///   fuzz TARGET FILE          run under afl-fuzz (forkserver protocol, persistent, FILE is afl's @@)
///   replay TARGET PATH...     run inputs (files or directories) once each; exit 1 on any finding
///   instrument DIR            add AFL edge coverage to the parser assemblies in DIR (in place)
///   seeds CORPUS_DIR          write the seed corpus of every target to CORPUS_DIR/TARGET/
/// Targets: vhost-user, chains, media.
/// </summary>
public static class Program
{
    /// <summary>The assemblies whose code is instrumented: the guest-facing parsers and what they call.</summary>
    public static readonly string[] InstrumentedAssemblies =
        ["Spectrum.Camera.Virtio.dll", "Spectrum.Camera.VhostUser.dll", "Spectrum.Camera.Media.dll"];

    public static int Main(string[] args)
    {
        // Production log level; lines go nowhere (a hostile input logs guest faults on every run).
        // SPECTRUM_FUZZ_LOG=1 shows them at debug level instead (to see what a replayed input does).
        if (Environment.GetEnvironmentVariable("SPECTRUM_FUZZ_LOG") == "1")
        {
            Log.MinimumLevel = LogLevel.Debug;
        }
        else
        {
            Log.Output = TextWriter.Null;
        }

        if (args.Length < 2)
        {
            return Usage();
        }

        switch (args[0])
        {
            case "fuzz" when args.Length == 3:
                return AflRunner.Run(CreateTarget(args[1]), args[2]);
            case "replay":
                return Replay(CreateTarget(args[1]), args[2..]);
            case "instrument" when args.Length == 2:
                return Instrument(args[1]);
            case "seeds" when args.Length == 2:
                return WriteSeeds(args[1]);
            default:
                return Usage();
        }
    }

    public static IFuzzTarget CreateTarget(string name) => name switch
    {
        "vhost-user" => new VhostUserTarget(),
        "chains" => new ChainTarget(),
        "media" => new MediaTarget(),
        _ => throw new ArgumentException($"unknown target '{name}' (vhost-user, chains, media)", nameof(name)),
    };

    private static int Usage()
    {
        Console.Error.WriteLine("usage: spectrum-camera-fuzz fuzz TARGET FILE | replay TARGET PATH... | instrument DIR | seeds CORPUS_DIR");
        Console.Error.WriteLine("targets: vhost-user, chains, media");
        return 2;
    }

    private static int Replay(IFuzzTarget target, string[] paths)
    {
        var files = paths.SelectMany(p => Directory.Exists(p) ? Directory.GetFiles(p).Order(StringComparer.Ordinal) : (IEnumerable<string>)[p]).ToList();
        var fdsBefore = -1;
        var failures = 0;
        for (var round = 0; round < 2; round++)
        {
            // Round 0 warms up (lazily opened runtime files); round 1 must not change the fd count.
            foreach (var file in files)
            {
                try
                {
                    target.Run(File.ReadAllBytes(file));
                }
                catch (Exception e)
                {
                    failures++;
                    Console.Error.WriteLine($"FINDING {target.Name} {file}: {e}");
                }
            }

            if (round == 0)
            {
                fdsBefore = FdHandle.CountOpenFds();
            }
        }

        var fdsAfter = FdHandle.CountOpenFds();
        if (fdsAfter != fdsBefore)
        {
            failures++;
            Console.Error.WriteLine($"FINDING {target.Name}: open fds went from {fdsBefore} to {fdsAfter} over {files.Count} inputs");
        }

        Console.WriteLine($"{target.Name}: replayed {files.Count} inputs twice, {failures} findings");
        return failures == 0 ? 0 : 1;
    }

    private static int Instrument(string directory)
    {
        var traceAssembly = typeof(Trace).Assembly.Location;
        foreach (var name in InstrumentedAssemblies)
        {
            var path = Path.Combine(directory, name);
            var probes = Instrumenter.Instrument(path, traceAssembly);
            Console.WriteLine(probes == 0 ? $"{name}: already instrumented" : $"{name}: {probes} probes");
        }

        return 0;
    }

    private static int WriteSeeds(string corpus)
    {
        foreach (var name in new[] { "vhost-user", "chains", "media" })
        {
            var target = CreateTarget(name);
            var directory = Path.Combine(corpus, name);
            Directory.CreateDirectory(directory);
            foreach (var (seed, data) in target.Seeds())
            {
                File.WriteAllBytes(Path.Combine(directory, seed), data);
            }

            Console.WriteLine($"{name}: {target.Seeds().Count()} seeds in {directory}");
            (target as IDisposable)?.Dispose();
        }

        return 0;
    }
}
