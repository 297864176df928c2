namespace Spectrum.Camera.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("spectrum-camera: not implemented yet");
        return args.Length == 0 ? 2 : 2;
    }
}
