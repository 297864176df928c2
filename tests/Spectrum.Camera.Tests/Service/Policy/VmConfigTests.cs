using System.Runtime.Versioning;
using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Tests.Service.Policy;

[TestFixture]
[SupportedOSPlatform("linux")]
public sealed class VmConfigTests
{
    [TestCase("vm1", 1000u, "vm1", 1000u)]
    [TestCase("vm1:2001", 1000u, "vm1", 2001u)]
    [TestCase("a", 0u, "a", 0u)]
    [TestCase("Work-VM_2.test:0", 5u, "Work-VM_2.test", 0u)]
    public void Parses_a_name_with_an_optional_uid(string spec, uint defaultUid, string name, uint uid) =>
        Assert.That(VmConfig.Parse(spec, defaultUid), Is.EqualTo(new VmConfig(name, uid)));

    [TestCase("", "VM name")]
    [TestCase(":1000", "VM name")]
    [TestCase("-vm", "VM name")]
    [TestCase(".vm", "VM name")]
    [TestCase("vm/1", "VM name")]
    [TestCase("vm 1", "VM name")]
    [TestCase("vm:", "uid ''")]
    [TestCase("vm:abc", "uid 'abc'")]
    [TestCase("vm:-1", "uid '-1'")]
    [TestCase("vm:+5", "uid '+5'")]
    [TestCase("vm:4294967295", "uid '4294967295'")]
    [TestCase("vm:99999999999", "uid")]
    [TestCase("vm:1:2", "uid '1:2'")]
    public void Rejects_a_bad_spec_with_a_message_naming_the_problem(string spec, string message)
    {
        var e = Assert.Throws<FormatException>(() => VmConfig.Parse(spec, 1000));
        Assert.That(e!.Message, Does.Contain(message).And.Contain("NAME"));
    }

    [Test]
    public void Names_are_one_to_64_characters_of_the_allowed_set()
    {
        Assert.Multiple(() =>
        {
            Assert.That(VmConfig.IsValidName(new string('a', 64)), Is.True);
            Assert.That(VmConfig.IsValidName(new string('a', 65)), Is.False);
            Assert.That(VmConfig.IsValidName("0vm"), Is.True);
            Assert.That(VmConfig.IsValidName("vm.-_"), Is.True);
            Assert.That(VmConfig.IsValidName(""), Is.False);
            Assert.That(VmConfig.IsValidName("_vm"), Is.False);
            Assert.That(VmConfig.IsValidName("vm\n"), Is.False);
            Assert.That(VmConfig.IsValidName("vmé"), Is.False);
            Assert.That(VmConfig.IsValidName("../x"), Is.False);
        });
    }

    [Test]
    public void Default_policy_is_deny_and_never_changed()
    {
        var p = default(VmPolicy);
        Assert.Multiple(() =>
        {
            Assert.That(p.Allowed, Is.False);
            Assert.That(p.ChangedUnixMs, Is.Zero);
            Assert.That(p.EverChanged, Is.False);
        });
    }
}
