using Spectrum.Camera.Tests.Media;
using Spectrum.Camera.TestFrontend;

namespace Spectrum.Camera.Tests.Resources;

/// <summary>
/// Drives the real command queue of a <see cref="MediaHarness"/> in bursts, as a hostile guest driver would: up to
/// <see cref="Batch"/> command chains are published per kick (each with its own request and response slot in guest
/// RAM), then the burst's completions are collected. One kick per burst instead of one round trip per command is what
/// makes a million commands through the real vhost-user path take seconds.
/// </summary>
internal sealed class CommandBurst
{
    private readonly MediaHarness _h;
    private readonly ulong[] _requests;
    private readonly ulong[] _responses;
    private readonly int _requestSize;
    private readonly int _responseSize;

    public CommandBurst(MediaHarness harness, int batch, int requestSize, int responseSize)
    {
        _h = harness;
        Batch = batch;
        _requestSize = requestSize;
        _responseSize = responseSize;
        _requests = [.. Enumerable.Range(0, batch).Select(_ => harness.Ram.Allocate((ulong)requestSize, 64))];
        _responses = [.. Enumerable.Range(0, batch).Select(_ => harness.Ram.Allocate((ulong)Math.Max(responseSize, 1), 64))];
    }

    public int Batch { get; }

    /// <summary>
    /// Sends <paramref name="requests"/> (at most <see cref="Batch"/>, each at most the request size) with
    /// <paramref name="responseCapacity"/> writable bytes each (0: no writable part, as CLOSE), and returns what the
    /// device wrote for each, in order.
    /// </summary>
    public byte[][] Send(IReadOnlyList<byte[]> requests, int responseCapacity)
    {
        if (requests.Count > Batch || responseCapacity > _responseSize)
        {
            throw new ArgumentException("burst larger than the slots");
        }

        var q = _h.Driver.CommandQueue;
        var slotOfHead = new Dictionary<ushort, int>();
        for (var i = 0; i < requests.Count; i++)
        {
            if (requests[i].Length > _requestSize)
            {
                throw new ArgumentException("request larger than its slot");
            }

            requests[i].CopyTo(_h.Ram.Span(_requests[i], requests[i].Length));
            List<(ulong, uint)> writable = responseCapacity > 0 ? [(_responses[i], (uint)responseCapacity)] : [];
            slotOfHead[q.AddChain([(_requests[i], (uint)requests[i].Length)], writable)] = i;
        }

        // EVENT_IDX: ask for an interrupt at the first completion; the rest are then read off the used ring.
        q.SetUsedEvent(q.UsedIndex);
        q.Notify();
        var answers = new byte[requests.Count][];
        for (var done = 0; done < requests.Count; done++)
        {
            // Re-arm before each wait, as Linux's virtqueue_enable_cb does: the device answers in batches of 64 and
            // interrupts only when the used index passes used_event.
            q.SetUsedEvent(q.UsedIndex);
            var (head, length) = q.WaitUsed(MediaHarness.Timeout);
            var slot = slotOfHead[head];
            answers[slot] = _h.Ram.Span(_responses[slot], (int)length).ToArray();
        }

        return answers;
    }

    /// <summary>Writes every slot once, so that guest pages touched by later bursts are resident before a baseline.</summary>
    public void Touch()
    {
        foreach (var gpa in _requests)
        {
            _h.Ram.Span(gpa, _requestSize).Clear();
        }

        foreach (var gpa in _responses)
        {
            _h.Ram.Span(gpa, Math.Max(_responseSize, 1)).Clear();
        }
    }

    public static uint Status(byte[] answer) => answer.Length >= 8 ? MediaGuestDriver.U32(answer, 0) : uint.MaxValue;
}
