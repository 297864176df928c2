using System.Runtime.Versioning;
using System.Text;
using System.Text.Json;
using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Tests.Service.Policy;

[TestFixture]
[SupportedOSPlatform("linux")]
public sealed class AuditLogTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("spectrum-audit-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static AuditRecord Rec(long t, string vm, string action = AuditActions.Allow, uint uid = 0, string detail = "") =>
        new(t, vm, action, uid, detail);

    [Test]
    public void Appends_one_json_line_per_record_to_a_0600_file()
    {
        using (var log = AuditLog.Open(_dir))
        {
            log.Append(Rec(1, "vm1", AuditActions.Allow, 1000, "by ctl"));
            log.Append(Rec(2, "vm1", AuditActions.RealStreamStart, 2001, "NV12 640x480 30/1 fps"));
        }

        var path = Path.Combine(_dir, "audit.log");
        var lines = File.ReadAllLines(path);
        Assert.That(lines, Has.Length.EqualTo(2));
        using var doc = JsonDocument.Parse(lines[1]);
        Assert.Multiple(() =>
        {
            Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            Assert.That(doc.RootElement.GetProperty("time_unix_ms").GetInt64(), Is.EqualTo(2));
            Assert.That(doc.RootElement.GetProperty("vm").GetString(), Is.EqualTo("vm1"));
            Assert.That(doc.RootElement.GetProperty("action").GetString(), Is.EqualTo("real-stream-start"));
            Assert.That(doc.RootElement.GetProperty("uid").GetUInt32(), Is.EqualTo(2001u));
            Assert.That(doc.RootElement.GetProperty("detail").GetString(), Is.EqualTo("NV12 640x480 30/1 fps"));
        });
    }

    [Test]
    public void Read_filters_by_vm_and_keeps_the_newest_limit_oldest_first()
    {
        using var log = AuditLog.Open(_dir);
        for (var i = 1; i <= 10; i++)
        {
            log.Append(Rec(i, i % 2 == 0 ? "even" : "odd"));
        }

        Assert.Multiple(() =>
        {
            Assert.That(log.Read(null, 0).Select(r => r.TimeUnixMs), Is.EqualTo(Enumerable.Range(1, 10).Select(i => (long)i)));
            Assert.That(log.Read("", 3).Select(r => r.TimeUnixMs), Is.EqualTo(new long[] { 8, 9, 10 }));
            Assert.That(log.Read("even", 0).Select(r => r.TimeUnixMs), Is.EqualTo(new long[] { 2, 4, 6, 8, 10 }));
            Assert.That(log.Read("odd", 2).Select(r => r.TimeUnixMs), Is.EqualTo(new long[] { 7, 9 }));
            Assert.That(log.Read("none", 0), Is.Empty);
            Assert.That(log.Read("odd", 100), Has.Count.EqualTo(5));
            Assert.That(log.Read(null, 1).Single(), Is.EqualTo(Rec(10, "even")));
        });
    }

    [Test]
    public void Records_survive_reopen_and_new_ones_follow()
    {
        using (var log = AuditLog.Open(_dir))
        {
            log.Append(Rec(1, "vm1", AuditActions.Deny, 0, "effective: no-sidecar"));
        }

        using (var log = AuditLog.Open(_dir))
        {
            log.Append(Rec(2, "vm1", AuditActions.Allow));
            Assert.That(log.Read("vm1", 0), Is.EqualTo(new[] { Rec(1, "vm1", AuditActions.Deny, 0, "effective: no-sidecar"), Rec(2, "vm1") }));
        }
    }

    [Test]
    public void A_torn_last_line_is_skipped_and_the_next_record_starts_on_its_own_line()
    {
        var path = Path.Combine(_dir, "audit.log");
        using (var log = AuditLog.Open(_dir))
        {
            log.Append(Rec(1, "vm1"));
        }

        File.AppendAllText(path, "{\"time_unix_ms\":2,\"vm\":\"vm1\",\"act");
        Assert.That(AuditLog.ReadFile(path, null, 0, out var skipped).Select(r => r.TimeUnixMs), Is.EqualTo(new long[] { 1 }));
        Assert.That(skipped, Is.Zero, "a torn tail is not a bad line");

        using (var log = AuditLog.Open(_dir))
        {
            log.Append(Rec(3, "vm1"));
            var records = log.Read(null, 0, out skipped);
            Assert.That(records.Select(r => r.TimeUnixMs), Is.EqualTo(new long[] { 1, 3 }));
            Assert.That(skipped, Is.EqualTo(1), "the torn line, now terminated, is counted as unparsable");
        }
    }

    [Test]
    public void Lines_that_do_not_parse_are_skipped_and_counted()
    {
        var path = Path.Combine(_dir, "audit.log");
        using (var log = AuditLog.Open(_dir))
        {
            log.Append(Rec(1, "vm1"));
        }

        File.AppendAllText(path, "garbage\n\n{\"time_unix_ms\":2,\"vm\":null,\"action\":\"allow\",\"uid\":0,\"detail\":\"\"}\n"
            + "{\"time_unix_ms\":3,\"vm\":\"vm1\"}\n" + "[1]\n");
        using (var log = AuditLog.Open(_dir))
        {
            log.Append(Rec(4, "vm1"));
            var records = log.Read(null, 0, out var skipped);
            Assert.That(records.Select(r => r.TimeUnixMs), Is.EqualTo(new long[] { 1, 4 }));
            Assert.That(skipped, Is.EqualTo(4));
        }
    }

    [Test]
    public void Long_details_and_many_records_read_back_across_chunk_boundaries()
    {
        using var log = AuditLog.Open(_dir);
        var detail = new string('x', 100_000);
        log.Append(Rec(1, "vm1", detail: detail));
        for (var i = 2; i <= 2000; i++)
        {
            log.Append(Rec(i, "vm1", detail: "é \"quoted\" \n line"));
        }

        var records = log.Read(null, 0, out var skipped);
        Assert.That(skipped, Is.Zero);
        Assert.That(records, Has.Count.EqualTo(2000));
        Assert.That(records[0].Detail, Is.EqualTo(detail));
        Assert.That(records[^1].Detail, Is.EqualTo("é \"quoted\" \n line"));
    }

    [Test]
    public void Appends_while_another_reader_has_the_file_open()
    {
        var path = Path.Combine(_dir, "audit.log");
        using var log = AuditLog.Open(_dir);
        log.Append(Rec(1, "vm1"));
        using (var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            log.Append(Rec(2, "vm1"));
            using var text = new StreamReader(reader, Encoding.UTF8);
            Assert.That(text.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(2));
        }

        Assert.That(log.Read(null, 0), Has.Count.EqualTo(2));
    }

    [Test]
    public void Append_after_dispose_throws()
    {
        var log = AuditLog.Open(_dir);
        log.Dispose();
        Assert.Throws<ObjectDisposedException>(() => log.Append(Rec(1, "vm1")));
    }
}
