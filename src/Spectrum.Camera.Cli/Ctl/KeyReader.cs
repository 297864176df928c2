using System.Collections.Concurrent;

namespace Spectrum.Camera.Cli.Ctl;

/// <summary>
/// The keys an operator types, read on a thread of their own so the prompt's loop can wait for the camera service
/// and count down at the same time. On a terminal (local or over ssh) each key arrives as it is pressed, without
/// Enter and without echo; from a pipe, each character.
/// </summary>
internal sealed class KeyReader : IDisposable
{
    private readonly ConcurrentQueue<char> _keys = new();
    private volatile bool _ended;

    private KeyReader()
    {
    }

    /// <summary>Standard input reached its end (or failed): no more keys will come.</summary>
    public bool Ended => _ended && _keys.IsEmpty;

    /// <summary>Starts reading standard input.</summary>
    public static KeyReader Start()
    {
        var reader = new KeyReader();
        var thread = new Thread(reader.Read) { IsBackground = true, Name = "ctl-prompt-keys" };
        thread.Start();
        return reader;
    }

    /// <summary>The next key typed, if any.</summary>
    public bool TryRead(out char key) => _keys.TryDequeue(out key);

    /// <summary>Nothing to release: the reading thread is a background thread and ends with the process.</summary>
    public void Dispose() => _ended = true;

    private void Read()
    {
        try
        {
            if (Console.IsInputRedirected)
            {
                int c;
                while (!_ended && (c = Console.In.Read()) >= 0)
                {
                    _keys.Enqueue((char)c);
                }
            }
            else
            {
                while (!_ended)
                {
                    _keys.Enqueue(Console.ReadKey(intercept: true).KeyChar);
                }
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            // No terminal after all (or it went away): like the end of input.
        }

        _ended = true;
    }
}
