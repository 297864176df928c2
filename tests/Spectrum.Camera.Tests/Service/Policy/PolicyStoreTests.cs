using System.Runtime.Versioning;
using System.Text.Json;
using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Tests.Service.Policy;

[TestFixture]
[SupportedOSPlatform("linux")]
public sealed class PolicyStoreTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123);
    private static readonly string[] BothVms = ["vm1", "vm2"];
    private static readonly string[] OnlyPolicy = ["policy.json"];
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("spectrum-policy-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string StateDir => Path.Combine(_dir, "state");

    [Test]
    public void Creates_the_state_directory_0700_and_denies_unknown_vms()
    {
        var store = PolicyStore.Open(StateDir);
        Assert.Multiple(() =>
        {
            Assert.That(File.GetUnixFileMode(StateDir), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
            Assert.That(store.Get("vm1"), Is.EqualTo(default(VmPolicy)));
            Assert.That(File.Exists(store.FilePath), Is.False, "nothing written before the first change");
        });
    }

    [Test]
    public void Set_then_get_records_who_and_when()
    {
        var store = PolicyStore.Open(StateDir);
        Assert.That(store.Set("vm1", allowed: true, uid: 1000, T0), Is.True);
        Assert.That(store.Get("vm1"), Is.EqualTo(new VmPolicy(true, T0.ToUnixTimeMilliseconds(), 1000)));
        Assert.That(store.Get("vm2").Allowed, Is.False);
    }

    [Test]
    public void Setting_the_same_value_is_no_change_and_writes_nothing()
    {
        var store = PolicyStore.Open(StateDir);
        Assert.That(store.Set("vm1", allowed: false, uid: 0, T0), Is.False, "an unknown VM is already denied");
        Assert.That(File.Exists(store.FilePath), Is.False);
        Assert.That(store.Set("vm1", allowed: true, uid: 0, T0), Is.True);
        var before = File.ReadAllText(store.FilePath);
        Assert.That(store.Set("vm1", allowed: true, uid: 42, T0.AddSeconds(5)), Is.False);
        Assert.That(store.Get("vm1").ChangedByUid, Is.Zero, "the first change stays recorded");
        Assert.That(File.ReadAllText(store.FilePath), Is.EqualTo(before));
    }

    [Test]
    public void Changes_persist_across_reopen()
    {
        var store = PolicyStore.Open(StateDir);
        store.Set("vm1", true, 1000, T0);
        store.Set("vm2", true, 1000, T0);
        store.Set("vm2", false, 0, T0.AddMinutes(1));
        var reopened = PolicyStore.Open(StateDir);
        Assert.Multiple(() =>
        {
            Assert.That(reopened.Get("vm1"), Is.EqualTo(new VmPolicy(true, T0.ToUnixTimeMilliseconds(), 1000)));
            Assert.That(reopened.Get("vm2"), Is.EqualTo(new VmPolicy(false, T0.AddMinutes(1).ToUnixTimeMilliseconds(), 0)));
            Assert.That(reopened.Snapshot().Keys, Is.EqualTo(BothVms));
        });
    }

    [Test]
    public void The_file_is_replaced_atomically_with_mode_0600_and_no_temp_file_left()
    {
        var store = PolicyStore.Open(StateDir);
        // A temp file left by a crash (with a lax mode) must neither survive nor leak its mode.
        File.WriteAllText(store.FilePath + ".tmp", "junk");
        File.SetUnixFileMode(store.FilePath + ".tmp", (UnixFileMode)0b110_110_110);
        store.Set("vm1", true, 1000, T0);
        store.Set("vm1", false, 1000, T0.AddSeconds(1));
        Assert.Multiple(() =>
        {
            Assert.That(File.Exists(store.FilePath + ".tmp"), Is.False);
            Assert.That(File.GetUnixFileMode(store.FilePath), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            Assert.That(Directory.GetFiles(StateDir).Select(Path.GetFileName), Is.EqualTo(OnlyPolicy));
        });
    }

    [Test]
    public void The_file_is_human_readable_json_in_the_documented_shape()
    {
        var store = PolicyStore.Open(StateDir);
        store.Set("vm1", true, 1000, T0);
        var text = File.ReadAllText(store.FilePath);
        Assert.That(text, Does.Contain("\n  "), "indented");
        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("version").GetInt32(), Is.EqualTo(1));
            var vm = root.GetProperty("vms").GetProperty("vm1");
            Assert.That(vm.GetProperty("allowed").GetBoolean(), Is.True);
            Assert.That(vm.GetProperty("changed_unix_ms").GetInt64(), Is.EqualTo(T0.ToUnixTimeMilliseconds()));
            Assert.That(vm.GetProperty("changed_by_uid").GetUInt32(), Is.EqualTo(1000u));
        });
    }

    [TestCase("{\"version\":1,\"vms\":{\"vm1\":{\"allowed\":tru", "not a valid policy file")]
    [TestCase("", "not a valid policy file")]
    [TestCase("null", "not a valid policy file")]
    [TestCase("[1,2]", "not a valid policy file")]
    [TestCase("{\"version\":2,\"vms\":{}}", "version 2")]
    [TestCase("{\"vms\":{}}", "version 0")]
    [TestCase("{\"version\":1,\"vms\":{\"../etc\":{\"allowed\":true}}}", "invalid VM '../etc'")]
    [TestCase("{\"version\":1,\"vms\":{\"vm1\":{\"allowed\":\"yes\"}}}", "not a valid policy file")]
    public void A_corrupt_file_is_a_clear_error_never_a_reset(string content, string message)
    {
        Directory.CreateDirectory(StateDir);
        var path = Path.Combine(StateDir, "policy.json");
        File.WriteAllText(path, content);
        var e = Assert.Throws<InvalidDataException>(() => PolicyStore.Open(StateDir));
        Assert.That(e!.Message, Does.Contain(path).And.Contain(message).And.Contain("remove it to deny every VM"));
        Assert.That(File.ReadAllText(path), Is.EqualTo(content), "the file is left for the operator to inspect");
    }

    [Test]
    public void An_invalid_vm_name_is_refused()
    {
        var store = PolicyStore.Open(StateDir);
        Assert.Throws<ArgumentException>(() => store.Set("../x", true, 0, T0));
    }
}
