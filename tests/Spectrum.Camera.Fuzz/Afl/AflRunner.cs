using System.Diagnostics;
using Spectrum.Camera.Fuzz.Targets;

namespace Spectrum.Camera.Fuzz.Afl;

/// <summary>
/// Speaks AFL's forkserver protocol (fds 198/199) without forking, as SharpFuzz does: .NET cannot fork, so the
/// process itself is the "child" and runs every input in-process (persistent mode). Each round: AFL writes 4 bytes on
/// fd 198, we answer our pid on fd 199, run the target on the input file (afl-fuzz rewrites it at the same path), and
/// answer a wait status: 0, or 6 (SIGABRT) when the target threw. A watchdog thread turns an input that runs longer
/// than the hang limit into a saved hang file and an immediate exit, which afl-fuzz then reports as a dead fork server
/// (run.sh counts those files as hangs).
/// </summary>
internal static unsafe class AflRunner
{
    private const int ControlFd = 198;
    private const int StatusFd = 199;
    private const int StatusCrashed = 6;

    private static long s_runStartedTicks;
    private static byte[] s_currentInput = [];

    public static int Run(IFuzzTarget target, string inputPath)
    {
        var shm = Environment.GetEnvironmentVariable("__AFL_SHM_ID");
        if (shm is null || !int.TryParse(shm, out var shmId))
        {
            Console.Error.WriteLine("fuzz: __AFL_SHM_ID is not set: not started by afl-fuzz (use 'replay' to run inputs)");
            return 2;
        }

        var map = Native.ShmAt(shmId, 0, 0);
        if (map == -1)
        {
            Console.Error.WriteLine("fuzz: shmat failed");
            return 2;
        }

        // JIT and first-use work outside the measured rounds: run the target once on the current input (or nothing).
        Warm(target, inputPath);
        Trace.SharedMem = (byte*)map;

        var hangLimit = TimeSpan.FromMilliseconds(int.TryParse(Environment.GetEnvironmentVariable("SPECTRUM_FUZZ_HANG_MS"), out var ms) ? ms : 2000);
        var hangDirectory = Environment.GetEnvironmentVariable("SPECTRUM_FUZZ_HANG_DIR") ?? Path.GetTempPath();
        StartWatchdog(target.Name, hangLimit, hangDirectory);

        var word = 0;
        if (Native.Write(StatusFd, &word, 4) != 4)
        {
            Console.Error.WriteLine("fuzz: cannot write the forkserver hello on fd 199");
            return 2;
        }

        var pid = Native.GetPid();
        while (true)
        {
            if (Native.Read(ControlFd, &word, 4) != 4)
            {
                return 0; // afl-fuzz is done
            }

            if (Native.Write(StatusFd, &pid, 4) != 4)
            {
                return 0;
            }

            var status = RunOne(target, inputPath);
            if (Native.Write(StatusFd, &status, 4) != 4)
            {
                return 0;
            }
        }
    }

    private static int RunOne(IFuzzTarget target, string inputPath)
    {
        byte[] input;
        try
        {
            input = File.ReadAllBytes(inputPath);
        }
        catch (IOException)
        {
            input = [];
        }

        s_currentInput = input;
        Trace.PrevLocation = 0;
        Volatile.Write(ref s_runStartedTicks, Stopwatch.GetTimestamp());
        try
        {
            SelfTest(input);
            target.Run(input);
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"fuzz: {target.Name}: {e}");
            return StatusCrashed;
        }
        finally
        {
            Volatile.Write(ref s_runStartedTicks, 0);
        }
    }

    /// <summary>
    /// run.sh --self-test proves that findings are caught: with SPECTRUM_FUZZ_SELF_TEST=1 an input starting "!crash"
    /// throws and one starting "!hang" never returns.
    /// </summary>
    private static void SelfTest(ReadOnlySpan<byte> input)
    {
        if (!s_selfTest)
        {
            return;
        }

        if (input.StartsWith("!crash"u8))
        {
            throw new InvalidOperationException("self-test crash");
        }

        if (input.StartsWith("!hang"u8))
        {
            Thread.Sleep(Timeout.Infinite);
        }
    }

    private static readonly bool s_selfTest = Environment.GetEnvironmentVariable("SPECTRUM_FUZZ_SELF_TEST") == "1";

    private static void Warm(IFuzzTarget target, string inputPath)
    {
        try
        {
            foreach (var seed in target.WarmUpInputs())
            {
                target.Run(seed);
            }

            if (File.Exists(inputPath))
            {
                target.Run(File.ReadAllBytes(inputPath));
            }
        }
        catch (Exception)
        {
            // Findings are reported in the measured rounds, where AFL records the input.
        }
    }

    private static void StartWatchdog(string name, TimeSpan limit, string directory)
    {
        var thread = new Thread(() =>
        {
            while (true)
            {
                Thread.Sleep(100);
                var started = Volatile.Read(ref s_runStartedTicks);
                if (started != 0 && Stopwatch.GetElapsedTime(started) > limit)
                {
                    var input = s_currentInput;
                    Directory.CreateDirectory(directory);
                    var path = Path.Combine(directory, $"hang-{name}-{DateTime.UtcNow:yyyyMMddHHmmss}-{Environment.ProcessId}");
                    File.WriteAllBytes(path, input);
                    Console.Error.WriteLine($"fuzz: {name}: an input ran longer than {limit.TotalMilliseconds} ms; saved as {path}");
                    Native.Exit(86);
                }
            }
        })
        { IsBackground = true, Name = "fuzz-watchdog" };
        thread.Start();
    }
}
