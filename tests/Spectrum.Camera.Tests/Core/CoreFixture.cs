namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// Base of the core fixtures: every test is bracketed by fd accounting (<see cref="FdLeakCheck"/>). The fixtures are
/// [NonParallelizable] because the log they capture and the fd table they count are process-wide.
/// </summary>
[NonParallelizable]
public abstract class CoreFixture
{
    private FdLeakCheck? _fds;

    [SetUp]
    public void CountFds() => _fds = FdLeakCheck.Start();

    [TearDown]
    public void NoFdLeaked() => _fds!.AssertNoLeak();
}
