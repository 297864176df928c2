using System.Runtime.Versioning;
using Spectrum.Camera.Service.Policy;

namespace Spectrum.Camera.Tests.Service.Policy;

[TestFixture]
[SupportedOSPlatform("linux")]
public sealed class OperatorAuthorizerTests
{
    [TestCase(0u, 0u, true)]          // root
    [TestCase(0u, 1234u, true)]
    [TestCase(500u, 500u, true)]      // the service's uid
    [TestCase(1001u, 1u, true)]       // --operator-uid
    [TestCase(1002u, 1u, true)]
    [TestCase(3000u, 77u, true)]      // primary gid is --operator-group
    [TestCase(1000u, 1000u, false)]
    [TestCase(3000u, 78u, false)]
    public void Root_the_service_listed_uids_and_the_operator_group_are_operators(uint uid, uint gid, bool expected)
    {
        var auth = new OperatorAuthorizer(500, [1001, 1002], 77);
        Assert.That(auth.IsOperator(uid, gid, out var reason), Is.EqualTo(expected));
        Assert.That(reason, Is.Not.Empty);
    }

    [Test]
    public void Without_an_operator_group_no_gid_grants_access()
    {
        var auth = new OperatorAuthorizer(500, [], null);
        Assert.That(auth.IsOperator(1000, 0, out var reason), Is.False, "gid 0 is not root");
        Assert.That(reason, Is.EqualTo("uid 1000 is not an operator: run as root or add --operator-uid 1000 / --operator-group"));
    }

    [Test]
    public void A_refusal_says_which_uid_and_how_to_allow_it()
    {
        var auth = new OperatorAuthorizer(500, [1001], 77);
        Assert.That(auth.IsOperator(1000, 100, out var reason), Is.False);
        Assert.That(reason, Does.StartWith("uid 1000 is not an operator").And.Contain("gid 100").And.Contain("77")
            .And.Contain("--operator-uid 1000").And.Contain("--operator-group"));
    }
}
