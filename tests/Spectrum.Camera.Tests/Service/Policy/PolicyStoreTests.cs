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
        Assert.That(store.Get("vm1"), Is.EqualTo(new VmPolicy(CameraPermission.Allow, T0.ToUnixTimeMilliseconds(), 1000)));
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
            Assert.That(reopened.Get("vm1"), Is.EqualTo(new VmPolicy(CameraPermission.Allow, T0.ToUnixTimeMilliseconds(), 1000)));
            Assert.That(reopened.Get("vm2"), Is.EqualTo(new VmPolicy(CameraPermission.Deny, T0.AddMinutes(1).ToUnixTimeMilliseconds(), 0)));
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
            Assert.That(root.GetProperty("version").GetInt32(), Is.EqualTo(2));
            var vm = root.GetProperty("vms").GetProperty("vm1");
            Assert.That(vm.GetProperty("permission").GetString(), Is.EqualTo("allow"));
            Assert.That(vm.TryGetProperty("allowed", out _), Is.False, "version 1's field is gone");
            Assert.That(vm.TryGetProperty("camera", out _), Is.False, "no camera assigned: the first");
            Assert.That(vm.GetProperty("changed_unix_ms").GetInt64(), Is.EqualTo(T0.ToUnixTimeMilliseconds()));
            Assert.That(vm.GetProperty("changed_by_uid").GetUInt32(), Is.EqualTo(1000u));
        });
    }

    [TestCase("{\"version\":1,\"vms\":{\"vm1\":{\"allowed\":tru", "not a valid policy file")]
    [TestCase("", "not a valid policy file")]
    [TestCase("null", "not a valid policy file")]
    [TestCase("[1,2]", "not a valid policy file")]
    [TestCase("{\"version\":3,\"vms\":{}}", "version 3")]
    [TestCase("{\"version\":2,\"vms\":{\"vm1\":{\"permission\":\"maybe\"}}}", "permission 'maybe', not allow, deny or ask")]
    [TestCase("{\"version\":2,\"vms\":{\"vm1\":{\"changed_unix_ms\":1}}}", "permission '', not allow, deny or ask")]
    [TestCase("{\"version\":2,\"vms\":{\"vm1\":{\"permission\":\"ask\",\"camera\":\"../x\"}}}", "invalid camera name '../x'")]
    [TestCase("{\"version\":1,\"vms\":{\"vm1\":{\"changed_unix_ms\":1}}}", "no \"allowed\"")]
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

    [Test]
    public void Ask_and_camera_assignment_persist_without_touching_each_other()
    {
        var store = PolicyStore.Open(StateDir);
        Assert.That(store.Set("vm1", CameraPermission.Ask, 1000, T0), Is.True);
        Assert.That(store.Assign("vm1", "usb"), Is.True);
        Assert.That(store.Assign("vm1", "usb"), Is.False, "the same camera is no change");
        Assert.That(store.Assign("vm2", "usb"), Is.True, "a VM without a policy gets one, denied");
        var reopened = PolicyStore.Open(StateDir);
        Assert.Multiple(() =>
        {
            Assert.That(reopened.Get("vm1"), Is.EqualTo(new VmPolicy(CameraPermission.Ask, T0.ToUnixTimeMilliseconds(), 1000, "usb")));
            Assert.That(reopened.Get("vm2"), Is.EqualTo(new VmPolicy(CameraPermission.Deny, 0, 0, "usb")));
            Assert.That(reopened.MigratedFromVersion, Is.Null);
        });
    }

    [Test]
    public void A_version_1_file_is_read_and_rewritten_as_version_2()
    {
        Directory.CreateDirectory(StateDir);
        var path = Path.Combine(StateDir, "policy.json");
        File.WriteAllText(path, """
            {"version":1,"vms":{"vm1":{"allowed":true,"changed_unix_ms":1700000000123,"changed_by_uid":1000},
             "vm2":{"allowed":false,"changed_unix_ms":1700000000999,"changed_by_uid":0}}}
            """);
        var store = PolicyStore.Open(StateDir);
        Assert.Multiple(() =>
        {
            Assert.That(store.MigratedFromVersion, Is.EqualTo(1));
            Assert.That(store.Get("vm1"), Is.EqualTo(new VmPolicy(CameraPermission.Allow, 1_700_000_000_123, 1000)));
            Assert.That(store.Get("vm2"), Is.EqualTo(new VmPolicy(CameraPermission.Deny, 1_700_000_000_999, 0)));
        });
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        Assert.That(doc.RootElement.GetProperty("version").GetInt32(), Is.EqualTo(2));
        Assert.That(doc.RootElement.GetProperty("vms").GetProperty("vm1").GetProperty("permission").GetString(), Is.EqualTo("allow"));
        Assert.That(PolicyStore.Open(StateDir).Get("vm1"), Is.EqualTo(store.Get("vm1")), "the rewritten file reads the same");
    }
}
