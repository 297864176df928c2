using System.Diagnostics;
using Spectrum.Camera.FrontendTool;

var clock = Stopwatch.StartNew();
Options options;
try
{
    options = Options.Parse(args);
}
catch (FormatException e)
{
    Console.Error.WriteLine($"spectrum-camera-frontend: {e.Message}");
    return 2;
}

if (options.HelpRequested)
{
    Console.Out.WriteLine(Options.Help);
    return 0;
}

var stdout = Console.Out;
string? error = null;
var streams = 0;
try
{
    using var frontend = new Frontend(options, stdout, clock);
    for (var i = 0; i < options.Streams.Count; i++)
    {
        streams++;
        if (!frontend.Run(i, options.Streams[i]))
        {
            break;
        }
    }
}
catch (FrontendException e)
{
    error = e.Message;
}
catch (Exception e) when (e is IOException or InvalidOperationException or TimeoutException)
{
    error = $"{e.GetType().Name}: {e.Message}";
}

stdout.WriteLine(new JsonLine("done").Add("ok", error is null).Add("streams", streams).Add("error", error)
    .Add("t_ms", (long)clock.Elapsed.TotalMilliseconds).ToString());
stdout.Flush();
if (error is not null)
{
    Console.Error.WriteLine($"spectrum-camera-frontend: {error}");
}

return error is null ? 0 : 1;
