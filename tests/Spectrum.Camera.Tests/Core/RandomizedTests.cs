using System.Buffers.Binary;
using System.Globalization;
using Spectrum.Camera.Native;
using Spectrum.Camera.TestFrontend;
using Spectrum.Camera.VhostUser;

namespace Spectrum.Camera.Tests.Core;

/// <summary>
/// Seeded randomized tests: valid chains and vhost-user messages are mutated and sent to the real backend, and the
/// invariants of the malicious suites are checked throughout: no exception escapes the loop, nothing is written
/// outside chains the rules allow (checked byte for byte against a model of guest memory), fds are not leaked, and the
/// backend keeps answering. The seed is printed; set SPECTRUM_FUZZ_SEED to replay one.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class RandomizedTests : CoreFixture
{
    private const int ChainTarget = 60_000;
    private const int MessageTarget = 45_000;
    private const int FramingSessions = 40;

    [Test]
    public void Mutated_descriptor_chains_and_avail_entries_match_the_chain_rules()
    {
        var seed = Seed(1);
        using var s = new CoreSession();
        var fuzzer = new ChainFuzzer(s, new Random(seed));
        while (fuzzer.Chains < ChainTarget)
        {
            fuzzer.Round();
        }

        TestContext.Out.WriteLine($"chain fuzz: {fuzzer.Chains} chains ({fuzzer.Mutated} mutated, {fuzzer.Accepted} accepted), " +
                                  $"{fuzzer.Violations} queue stops, {fuzzer.Rounds} rounds");
        Assert.Multiple(() =>
        {
            Assert.That(fuzzer.Chains, Is.GreaterThanOrEqualTo(ChainTarget));
            Assert.That(fuzzer.Violations, Is.GreaterThan(100), "mutations did hit the rules");
            Assert.That(fuzzer.Accepted, Is.GreaterThan(ChainTarget / 2), "most chains were valid and echoed");
        });
        s.AssertBackendIntact();
        s.RestartDriver(); // the fuzzer wrote the rings by hand; a new driver instance starts clean
        s.AssertEchoWorks();
        s.AssertEventQueueWorks();
        s.AssertConfigAnswers();
        s.AssertBackendIntact();
    }

    [Test]
    public void Mutated_vhost_user_messages_are_answered_or_refused_and_the_connection_lives()
    {
        var seed = Seed(2);
        using var s = new CoreSession();
        var fuzzer = new MessageFuzzer(s, new Random(seed));
        while (fuzzer.Sent < MessageTarget)
        {
            fuzzer.Batch(100);
            fuzzer.Resync();
        }

        TestContext.Out.WriteLine($"message fuzz: {fuzzer.Sent} mutated messages, {fuzzer.Replies} replies read, " +
                                  $"{fuzzer.FdsAttached} fds attached");
        Assert.That(fuzzer.Sent, Is.GreaterThanOrEqualTo(MessageTarget));
        s.AssertEchoWorks();
        s.AssertEventQueueWorks();
        s.AssertConfigAnswers();
        s.AssertBackendIntact();
    }

    [Test]
    public void Random_framing_errors_end_the_connection_with_a_protocol_error_only()
    {
        var random = new Random(Seed(3));
        for (var i = 0; i < FramingSessions; i++)
        {
            using var s = new CoreSession(start: i % 2 == 0);
            var header = new byte[12];
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)random.Next(0, 48));
            var expected = (i % 4) switch
            {
                0 => BadFlags(random, header),
                1 => Oversized(random, header),
                2 => TruncatedPayload(random, s, header),
                _ => TruncatedHeader(random, s),
            };
            if (i % 4 < 2)
            {
                s.Client.Socket.Send(header);
            }

            Assert.That(s.Harness.WaitForDisconnect(), Is.True, $"session {i}: connection ended");
            Assert.Multiple(() =>
            {
                Assert.That(s.Harness.Disconnect, Is.EqualTo(VhostUserBackend.DisconnectReason.ProtocolError), $"session {i}");
                Assert.That(s.Harness.DisconnectDetail, Does.Contain(expected), $"session {i}");
                Assert.That(s.Harness.LoopException, Is.Null, $"session {i}");
                Assert.That(s.Canary.FirstDamage(), Is.Null, $"session {i}");
            });
        }
    }

    private static string BadFlags(Random random, byte[] header)
    {
        var flags = (uint)random.Next() | 0x4u; // REPLY or reserved bits, or a wrong version
        if (random.Next(2) == 0)
        {
            flags = (uint)random.Next(0, 4) & ~1u;
        }

        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), flags);
        return (flags & 3) != 1 ? "version is not 1" : "has REPLY or reserved bits set";
    }

    private static string Oversized(Random random, byte[] header)
    {
        var size = (uint)random.Next(4097, int.MaxValue);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), size);
        return $"payload size {size} exceeds the 4096-byte limit";
    }

    private static string TruncatedPayload(Random random, CoreSession s, byte[] header)
    {
        var size = random.Next(2, 300);
        var sent = random.Next(0, size);
        using var fd = EventFd.Create();
        s.Client.SendRaw(BinaryPrimitives.ReadUInt32LittleEndian(header), 0x1, new byte[sent], [fd.Fd], (uint)size);
        s.Client.Socket.Shutdown();
        return $"connection closed mid-payload ({sent} of {size} bytes)";
    }

    private static string TruncatedHeader(Random random, CoreSession s)
    {
        var bytes = random.Next(1, 12);
        s.Client.Socket.Send(new byte[bytes]);
        s.Client.Socket.Shutdown();
        return $"connection closed after {bytes} of 12 header bytes";
    }

    private static int Seed(int stream)
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("SPECTRUM_FUZZ_SEED");
        var seed = (fromEnvironment is null ? 20261121 : int.Parse(fromEnvironment, CultureInfo.InvariantCulture)) + stream;
        TestContext.Out.WriteLine($"seed {seed} (replay with SPECTRUM_FUZZ_SEED={seed - stream})");
        return seed;
    }

    /// <summary>
    /// Builds rounds of valid chains on the echo queue (direct, indirect, direct prefix + indirect; buffers in a 1 MiB
    /// arena at the end of RAM, overlapping at random), mutates some descriptors and avail entries, and checks the
    /// backend against <see cref="ChainOracle"/> and a byte model of every place a mutated chain can validly reach: the
    /// arena, the indirect tables and the RAM below the VGA hole. A stopped queue is recovered the way a
    /// VM stop/cont would: the guest retracts the bad entries and QEMU replays the start with the returned base.
    /// </summary>
    private sealed class ChainFuzzer
    {
        private const ulong ArenaSize = 1UL << 20;
        private const ulong TablesSize = 64UL << 10;
        private const ulong RamSize = 64UL << 20;
        private const ulong Arena = RamSize - ArenaSize;

        private readonly CoreSession _s;
        private readonly Random _r;
        private readonly ulong _tables;
        private readonly List<(ulong Start, byte[] Bytes)> _model;
        private readonly List<ushort> _descPool = [];
        private ushort _lastAvail;
        private ushort _usedIndex;
        private ulong _tableCursor;

        public ChainFuzzer(CoreSession s, Random random)
        {
            _s = s;
            _r = random;
            _tables = s.Canary.Buffer(TablesSize, 16);
            s.Canary.Allow(Arena, ArenaSize);
            s.Canary.Allow(0, GuestRam.HoleStart);
            _model = [(0, new byte[GuestRam.HoleStart]), (_tables, new byte[TablesSize]), (Arena, new byte[ArenaSize])];
            Assert.That(s.Ram.Size, Is.EqualTo(RamSize));
        }

        public int Chains { get; private set; }

        public int Mutated { get; private set; }

        public int Accepted { get; private set; }

        public int Violations { get; private set; }

        public int Rounds { get; private set; }

        private GuestVirtqueue Q => _s.EchoQueue;

        public void Round()
        {
            Rounds++;
            _tableCursor = 0;
            _descPool.Clear();
            _descPool.AddRange(Enumerable.Range(0, Q.Size).Select(i => (ushort)i).OrderBy(_ => _r.Next()));

            var heads = new List<ushort>();
            var count = _r.Next(1, 21);
            for (var i = 0; i < count && _descPool.Count >= 8; i++)
            {
                heads.Add(BuildChain(out var descriptors));
                if (_r.NextDouble() < 0.12)
                {
                    Mutated++;
                    MutateDescriptor(descriptors, heads);
                }
            }

            Chains += heads.Count;
            var index = Q.AvailIndex;
            foreach (var head in heads)
            {
                var slot = head;
                if (_r.NextDouble() < 0.01)
                {
                    Mutated++;
                    slot = _r.Next(3) switch
                    {
                        0 => (ushort)_r.Next(Q.Size, 65536),
                        1 => (ushort)_r.Next(0, Q.Size),
                        _ => heads[_r.Next(heads.Count)],
                    };
                }

                BinaryPrimitives.WriteUInt16LittleEndian(_s.Ram.Span(Q.AvailGpa + 4 + (2UL * (ulong)(index % Q.Size)), 2), slot);
                index++;
            }

            if (_r.NextDouble() < 0.005)
            {
                index = (ushort)(index + Q.Size + _r.Next(1, 1000));
            }

            foreach (var (start, bytes) in _model)
            {
                _s.Ram.Span(start, bytes.Length).CopyTo(bytes);
            }

            Interlocked.MemoryBarrier();
            Q.SetAvailIndex(index);
            Q.Notify();
            var broken = _s.Harness.OnLoop(() =>
            {
                _s.Harness.Device.DrainEcho();
                return _s.Harness.Device.Queue(EchoEventDevice.EchoQueue)?.IsBroken;
            });

            var (expectedUsed, expectBroken) = Predict(index);
            Accepted += expectedUsed.Count;
            Assert.That(broken, Is.EqualTo(expectBroken), () => $"round {Rounds}: queue stopped; log:\n{_s.Log.Text}");
            Assert.That(Q.UsedIndex, Is.EqualTo((ushort)(_usedIndex + expectedUsed.Count)), () => $"round {Rounds}: used index");
            foreach (var (head, length) in expectedUsed)
            {
                var e = _s.Ram.Span(Q.UsedGpa + 4 + (8UL * (ulong)(_usedIndex % Q.Size)), 8);
                Assert.That((BinaryPrimitives.ReadUInt32LittleEndian(e), BinaryPrimitives.ReadUInt32LittleEndian(e[4..])),
                    Is.EqualTo(((uint)head, length)), $"round {Rounds}: used element {_usedIndex}");
                _usedIndex++;
            }

            foreach (var (start, bytes) in _model)
            {
                CompareWithModel(start, bytes);
            }

            if (expectBroken == true)
            {
                Violations++;
                Recover();
            }
            else
            {
                Assert.That(Q.AvailEvent, Is.EqualTo(_lastAvail), $"round {Rounds}: avail_event");
            }

            if (Rounds % 500 == 0)
            {
                Assert.That(_s.Canary.FirstDamage(), Is.Null, $"round {Rounds}: canary outside the arena");
                Assert.That(_s.Harness.LoopException, Is.Null);
            }
        }

        /// <summary>What the rules say the device does with the avail entries published this round.</summary>
        private (List<(ushort Head, uint Length)> Used, bool? Broken) Predict(ushort availIndex)
        {
            var used = new List<(ushort, uint)>();
            while (_lastAvail != availIndex)
            {
                if ((ushort)(availIndex - _lastAvail) > Q.Size)
                {
                    return (used, true);
                }

                var head = BinaryPrimitives.ReadUInt16LittleEndian(_s.Ram.Span(Q.AvailGpa + 4 + (2UL * (ulong)(_lastAvail % Q.Size)), 2));
                var chain = head < Q.Size ? ChainOracle.Walk(_s.Ram, Q.DescGpa, Q.Size, head, indirectAllowed: true) : null;
                if (chain is null)
                {
                    return (used, true);
                }

                _lastAvail++;
                used.Add((head, EchoInModel(chain)));
            }

            return (used, false);
        }

        /// <summary>The echo device's effect on the arena: reversed readable stream into the writable part.</summary>
        private uint EchoInModel(List<ChainOracle.Segment> chain)
        {
            var request = new List<byte>();
            foreach (var segment in chain.Where(c => !c.Writable))
            {
                var take = (int)Math.Min(segment.Length, (ulong)(EchoEventDevice.MaxEcho - request.Count));
                request.AddRange(ModelSpan(segment.Address, take).ToArray());
            }

            request.Reverse();
            var written = 0;
            foreach (var segment in chain.Where(c => c.Writable))
            {
                var n = (int)Math.Min(segment.Length, (ulong)(request.Count - written));
                request.GetRange(written, n).ToArray().CopyTo(ModelSpan(segment.Address, n));
                written += n;
            }

            return (uint)written;
        }

        private Span<byte> ModelSpan(ulong gpa, int length)
        {
            if (length == 0)
            {
                return [];
            }

            foreach (var (start, bytes) in _model)
            {
                if (gpa >= start && gpa - start + (ulong)length <= (ulong)bytes.Length)
                {
                    return bytes.AsSpan((int)(gpa - start), length);
                }
            }

            Assert.Fail($"round {Rounds}: a valid segment 0x{gpa:x}+{length} lies outside the modelled memory");
            return [];
        }

        private void CompareWithModel(ulong start, byte[] model)
        {
            var actual = _s.Ram.Span(start, model.Length);
            if (!actual.SequenceEqual(model))
            {
                var at = actual.ToArray().Zip(model).TakeWhile(p => p.First == p.Second).Count();
                Assert.Fail($"round {Rounds}: guest memory differs from the model at gpa 0x{start + (ulong)at:x}");
            }
        }

        private void Recover()
        {
            var bases = _s.Vmm.StopDriver();
            Assert.That(bases[EchoEventDevice.EchoQueue], Is.EqualTo((uint)_lastAvail), $"round {Rounds}: GET_VRING_BASE after a stop");
            Q.SetAvailIndex(_lastAvail); // the guest takes back what the device refused
            _s.StartDriver(newRings: false);
        }

        private ushort BuildChain(out List<(ulong Gpa, bool IsIndirectPointer)> descriptors)
        {
            descriptors = [];
            var segments = _r.Next(1, 7);
            var readable = _r.Next(0, segments + 1);
            var buffers = Enumerable.Range(0, segments).Select(i => Buffer(i < readable)).ToList();
            var indirect = _r.NextDouble() < 0.3;
            var direct = indirect ? (readable > 0 && _r.Next(3) == 0 ? 1 : 0) : segments;
            var indices = Enumerable.Range(0, direct + (indirect ? 1 : 0)).Select(_ => Take()).ToList();
            for (var i = 0; i < direct; i++)
            {
                var last = i == segments - 1;
                Q.WriteDescriptor(indices[i], buffers[i].Gpa, buffers[i].Length,
                    (ushort)((buffers[i].Writable ? GuestVirtqueue.FlagWrite : 0) | (last && !indirect ? 0 : GuestVirtqueue.FlagNext)),
                    last && !indirect ? (ushort)_r.Next(65536) : indices[i + 1]);
                descriptors.Add((Q.DescGpa + (16UL * indices[i]), false));
            }

            if (indirect)
            {
                var entries = segments - direct;
                var table = _tables + _tableCursor;
                _tableCursor += 16UL * (ulong)entries;
                for (var i = 0; i < entries; i++)
                {
                    var b = buffers[direct + i];
                    var last = i == entries - 1;
                    Wire.Descriptor(_s.Ram, table + (16UL * (ulong)i), b.Gpa, b.Length,
                        (ushort)((b.Writable ? GuestVirtqueue.FlagWrite : 0) | (last ? 0 : GuestVirtqueue.FlagNext)), last ? (ushort)0 : (ushort)(i + 1));
                    descriptors.Add((table + (16UL * (ulong)i), false));
                }

                Q.WriteDescriptor(indices[direct], table, 16 * (uint)entries, GuestVirtqueue.FlagIndirect, 0);
                descriptors.Add((Q.DescGpa + (16UL * indices[direct]), true));
            }

            return indices[0];
        }

        private (ulong Gpa, uint Length, bool Writable) Buffer(bool readable)
        {
            var length = (uint)_r.Next(1, 513);
            var gpa = Arena + (ulong)_r.NextInt64(0, (long)(ArenaSize - length));
            if (readable)
            {
                _r.NextBytes(_s.Ram.Span(gpa, (int)length));
            }

            return (gpa, length, !readable);
        }

        private ushort Take()
        {
            var index = _descPool[^1];
            _descPool.RemoveAt(_descPool.Count - 1);
            return index;
        }

        private void MutateDescriptor(List<(ulong Gpa, bool IsIndirectPointer)> descriptors, List<ushort> heads)
        {
            var (gpa, isIndirectPointer) = descriptors[_r.Next(descriptors.Count)];
            var d = _s.Ram.Span(gpa, 16);
            switch (_r.Next(4))
            {
                case 0:
                    var addr = BinaryPrimitives.ReadUInt64LittleEndian(d);
                    BinaryPrimitives.WriteUInt64LittleEndian(d, _r.Next(9) switch
                    {
                        0 => GuestRam.HoleStart + (ulong)_r.Next(0, 0x20000),
                        1 => GuestRam.HoleStart - (ulong)_r.Next(1, 64),
                        2 => GuestRam.HoleEnd - (ulong)_r.Next(1, 64),
                        3 => RamSize - (ulong)_r.Next(1, 64),
                        4 => RamSize + (ulong)_r.NextInt64(0, 1L << 40),
                        5 => ulong.MaxValue - (ulong)_r.Next(0, 4096),
                        6 => isIndirectPointer ? addr + (ulong)_r.Next(1, 16) : Arena + (ulong)_r.NextInt64(0, (long)ArenaSize),
                        7 => isIndirectPointer ? _tables + (16UL * (ulong)_r.Next(0, 64)) : Arena + (ulong)_r.NextInt64(0, (long)ArenaSize),
                        _ => (ulong)_r.NextInt64(long.MinValue, long.MaxValue),
                    });
                    break;
                case 1:
                    var len = BinaryPrimitives.ReadUInt32LittleEndian(d[8..]);
                    BinaryPrimitives.WriteUInt32LittleEndian(d[8..], _r.Next(7) switch
                    {
                        0 => 0,
                        1 => (uint)_r.Next(1, 600),
                        2 => uint.MaxValue,
                        3 => (uint)_r.Next(1, (int)ArenaSize),
                        4 => 0x8000_0000,
                        5 => len + 16,
                        _ => isIndirectPointer ? (uint)_r.Next(1025, 2000) * 16 : len - 1,
                    });
                    break;
                case 2:
                    var flags = BinaryPrimitives.ReadUInt16LittleEndian(d[12..]);
                    ushort[] bits = [GuestVirtqueue.FlagNext, GuestVirtqueue.FlagWrite, GuestVirtqueue.FlagIndirect, 0x8, 0x8000];
                    BinaryPrimitives.WriteUInt16LittleEndian(d[12..], (ushort)(flags ^ bits[_r.Next(bits.Length)]));
                    break;
                default:
                    var next = _r.Next(4) switch
                    {
                        0 => _r.Next(0, Q.Size),
                        1 => _r.Next(Q.Size, 65536),
                        2 => heads[_r.Next(heads.Count)],
                        _ => _r.Next(0, 8),
                    };
                    BinaryPrimitives.WriteUInt16LittleEndian(d[14..], (ushort)next);
                    break;
            }
        }
    }

    /// <summary>
    /// Sends mutated copies of the messages QEMU sends (§3.1-3.3, GET/SET_CONFIG): request ids, flags, payload bytes,
    /// payload lengths and attached fds (eventfds, memfds) are changed at random. It predicts from the protocol alone
    /// which messages get a reply (explicit replies always; acks when REPLY_ACK is in force and NEED_REPLY is set) and
    /// reads exactly those, so any extra, missing or malformed reply fails the test. Attached fds are added, dropped or
    /// swapped for other kinds. Ring addresses and memory-table values are only mutated to invalid values, never to
    /// other valid memory, so that any write the backend makes into guest RAM must be a used ring (whose window is
    /// allowed for the largest queue size) or an echo buffer.
    /// </summary>
    private sealed class MessageFuzzer
    {
        private static readonly uint[] ExplicitReplies = [1, 11, 15, 17, 24, VhostUserClient.GetShmemConfigRequest];

        private readonly CoreSession _s;
        private readonly Random _r;
        private bool _replyAck = true;
        private int _resyncs;

        public MessageFuzzer(CoreSession s, Random random)
        {
            _s = s;
            _r = random;
            AllowUsedWindows();
        }

        public int Sent { get; private set; }

        public int Replies { get; private set; }

        public int FdsAttached { get; private set; }

        public void Batch(int count)
        {
            for (var i = 0; i < count; i++)
            {
                SendOne();
            }
        }

        /// <summary>Puts the connection back in a known state the way QEMU would start a driver.</summary>
        public void Resync()
        {
            _resyncs++;
            var p = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(p, 0x209);
            _s.Client.SendRaw(VhostUserClient.SetProtocolFeatures, 0x1, p);
            _replyAck = true;
            _s.Client.ReplyAck = true;
            Assert.That(_s.Client.RequestU64(VhostUserClient.GetFeatures), Is.EqualTo(0x1_7000_0000UL), $"after {Sent} messages");
            _s.Vmm.StopDriver();
            _s.StartDriver(newRings: true);
            AllowUsedWindows();
            if (_resyncs % 25 == 0)
            {
                _s.AssertEchoWorks();
                _s.AssertConfigAnswers();
                Assert.That(_s.Harness.LoopException, Is.Null);
                Assert.That(_s.Canary.FirstDamage(), Is.Null, $"after {Sent} messages");
            }
        }

        private void AllowUsedWindows()
        {
            foreach (var q in _s.Vmm.Queues)
            {
                _s.Canary.Allow(q.UsedGpa, 6 + (8 * 1024) + 2);
            }
        }

        private void SendOne()
        {
            var (request, payload, fdKinds) = Template();
            var mutateValues = request is not VhostUserClient.SetMemTable and not VhostUserClient.SetVringAddr;
            if (_r.Next(10) == 0)
            {
                request = (uint)_r.Next(0, 48);
            }

            var roll = _r.Next(100);
            if (roll < 40)
            {
                if (mutateValues)
                {
                    for (var n = _r.Next(1, 4); n > 0 && payload.Length > 0; n--)
                    {
                        payload[_r.Next(payload.Length)] = (byte)_r.Next(256);
                    }
                }
                else
                {
                    MutateAddressField(request, payload);
                }
            }
            else if (roll < 50)
            {
                var resized = new byte[_r.Next(0, payload.Length + 64)];
                payload.AsSpan(0, Math.Min(payload.Length, resized.Length)).CopyTo(resized);
                payload = resized;
            }
            else if (roll < 51)
            {
                payload = new byte[_r.Next(1000, 4097)];
                _r.NextBytes(payload);
            }

            if (_r.Next(10) == 0)
            {
                fdKinds = [.. fdKinds, .. Enumerable.Range(0, _r.Next(1, 3)).Select(_ => _r.Next(3))];
            }
            else if (_r.Next(20) == 0)
            {
                fdKinds = [];
            }
            else if (_r.Next(10) == 0)
            {
                fdKinds = [.. fdKinds.Select(_ => _r.Next(3))]; // same count, other kinds (memfds where eventfds belong)
            }

            var flags = _r.Next(2) == 0 ? 0x1u : 0x9u;
            var owned = new List<IDisposable>();
            var fds = new List<int>();
            foreach (var kind in fdKinds)
            {
                switch (kind)
                {
                    case 0:
                        var e = EventFd.Create((uint)_r.Next(2));
                        owned.Add(e);
                        fds.Add(e.Fd);
                        break;
                    case 1:
                        var m = MemFd.Create("fuzz", 4096);
                        owned.Add(m);
                        fds.Add(m.Fd);
                        break;
                    default:
                        fds.Add(_s.Ram.Fd.Fd);
                        break;
                }
            }

            FdsAttached += fds.Count;
            _s.Client.SendRaw(request, flags, payload, fds.ToArray());
            owned.ForEach(o => o.Dispose());
            Sent++;

            if (request == VhostUserClient.SetProtocolFeatures && payload.Length == 8 && fds.Count == 0 &&
                (BinaryPrimitives.ReadUInt64LittleEndian(payload) & ~0x209UL) == 0)
            {
                _replyAck = (BinaryPrimitives.ReadUInt64LittleEndian(payload) & 0x8) != 0;
            }

            var explicitReply = ExplicitReplies.Contains(request);
            if (explicitReply || (_replyAck && (flags & 0x8) != 0))
            {
                byte[] reply;
                try
                {
                    reply = _s.Client.ReadReply(request);
                }
                catch (Exception e) when (e is TimeoutException or EndOfStreamException or InvalidDataException)
                {
                    Assert.Fail($"message {Sent} (request {request}, flags 0x{flags:x}, {payload.Length} bytes, {fds.Count} fds): " +
                                $"{e.Message}; loop exception: {_s.Harness.LoopException}");
                    throw;
                }

                Replies++;
                var expectedLength = request switch
                {
                    VhostUserClient.GetConfig => reply.Length == 12 ? 12 : 12 + (int)BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(4)),
                    VhostUserClient.GetShmemConfigRequest => VhostUserClient.ShmemConfigSize,
                    _ => 8,
                };
                Assert.That(reply, Has.Length.EqualTo(expectedLength), $"reply to request {request} (message {Sent})");
            }
        }

        /// <summary>
        /// Memory-table and ring-address fields only become invalid, or move together with everything that refers to
        /// them, never to other valid memory: a region's user address is never 0 (a ring address of 0 would then
        /// translate), its mmap offset never 0 (a valid but shifted mapping), and shifts flip the same high bits.
        /// </summary>
        private void MutateAddressField(uint request, byte[] payload)
        {
            var fields = (payload.Length - 8) / 8;
            if (fields <= 0)
            {
                return;
            }

            var offset = 8 + (8 * _r.Next(fields));
            var value = BinaryPrimitives.ReadUInt64LittleEndian(payload.AsSpan(offset));
            ulong[] choices = request == VhostUserClient.SetVringAddr
                ? [0, ulong.MaxValue, value ^ (1UL << 63), value ^ (1UL << 40), value + 1]
                : ((offset - 8) % 32) switch
                {
                    0 => [ulong.MaxValue, value ^ (1UL << 63), value ^ (1UL << 40)], // gpa
                    8 => [0, ulong.MaxValue, value / 2, value ^ (1UL << 44)], // size
                    16 => [ulong.MaxValue, value ^ (1UL << 63), value ^ (1UL << 40)], // user address
                    _ => [ulong.MaxValue, _s.Ram.Size, value ^ (1UL << 40)], // mmap offset
                };
            if (request == VhostUserClient.SetMemTable && _r.Next(4) == 0)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)_r.Next(0, 11));
            }

            BinaryPrimitives.WriteUInt64LittleEndian(payload.AsSpan(offset), choices[_r.Next(choices.Length)]);
        }

        /// <summary>One message as QEMU would send it: request, payload and the fds it carries (0 eventfd, 2 RAM memfd).</summary>
        private (uint Request, byte[] Payload, int[] FdKinds) Template()
        {
            var queue = (uint)_r.Next(2);
            var q = _s.Vmm.Queues[queue];
            var ram = _s.Ram;
            switch (_r.Next(17))
            {
                case 0: return (VhostUserClient.GetFeatures, [], []);
                case 1: return (VhostUserClient.GetProtocolFeatures, [], []);
                case 2: return (VhostUserClient.SetProtocolFeatures, Wire.U64(0x209), []);
                case 3: return (VhostUserClient.GetQueueNum, [], []);
                case 4: return (VhostUserClient.SetOwner, [], []);
                case 5: return (VhostUserClient.SetFeatures, Wire.U64(0x1_7000_0000), []);
                case 6:
                    return (VhostUserClient.SetMemTable, Wire.MemTable(ram), [.. Enumerable.Repeat(2, ram.Regions.Count)]);
                case 7: return (VhostUserClient.SetVringNum, Wire.VringState(queue, q.Size), []);
                case 8: return (VhostUserClient.SetVringBase, Wire.VringState(queue, 0), []);
                case 9:
                    var addr = new byte[40];
                    BinaryPrimitives.WriteUInt32LittleEndian(addr, queue);
                    BinaryPrimitives.WriteUInt64LittleEndian(addr.AsSpan(8), ram.UserAddressOf(q.DescGpa));
                    BinaryPrimitives.WriteUInt64LittleEndian(addr.AsSpan(16), ram.UserAddressOf(q.UsedGpa));
                    BinaryPrimitives.WriteUInt64LittleEndian(addr.AsSpan(24), ram.UserAddressOf(q.AvailGpa));
                    return (VhostUserClient.SetVringAddr, addr, []);
                case 10: return (VhostUserClient.SetVringKick, Wire.U64(queue), [0]);
                case 11: return (VhostUserClient.SetVringCall, Wire.U64(queue), [0]);
                case 12: return (VhostUserClient.SetVringErr, Wire.U64(queue), [0]);
                case 13: return (VhostUserClient.SetVringEnable, Wire.VringState(queue, (uint)_r.Next(2)), []);
                case 14: return (VhostUserClient.GetVringBase, Wire.VringState(queue, 0), []);
                case 15:
                    var get = new byte[12 + 40];
                    BinaryPrimitives.WriteUInt32LittleEndian(get.AsSpan(4), 40);
                    return (VhostUserClient.GetConfig, get, []);
                default:
                    var set = new byte[12 + 40];
                    BinaryPrimitives.WriteUInt32LittleEndian(set.AsSpan(4), 40);
                    return (VhostUserClient.SetConfig, set, []);
            }
        }
    }
}
