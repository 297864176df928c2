namespace Spectrum.Camera.Tests.Core;

/// <summary>Files of the repository the tests run from (the README, the guest driver's headers).</summary>
internal static class Repository
{
    /// <summary>The checkout's root: the nearest directory above the test binaries that holds Spectrum.Camera.sln.</summary>
    public static string Root { get; } = FindRoot();

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Spectrum.Camera.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no Spectrum.Camera.sln above {AppContext.BaseDirectory}");
    }
}
