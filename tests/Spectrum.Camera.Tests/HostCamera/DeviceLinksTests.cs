using Spectrum.Camera.Host;

namespace Spectrum.Camera.Tests.Host;

/// <summary>/dev/video* discovery and the udev by-id/by-path links, on a fake /dev tree in a temporary directory.</summary>
[TestFixture]
public sealed class DeviceLinksTests
{
    private DirectoryInfo _dev = null!;

    [SetUp]
    public void MakeDevTree()
    {
        _dev = Directory.CreateTempSubdirectory("spectrum-dev-");
        foreach (var node in new[] { "video0", "video1", "video2", "video10", "videoX", "vbi0" })
        {
            File.WriteAllText(Path.Combine(_dev.FullName, node), "");
        }

        Directory.CreateDirectory(Path.Combine(_dev.FullName, "v4l/by-id"));
        Directory.CreateDirectory(Path.Combine(_dev.FullName, "v4l/by-path"));
        // As udev makes them: relative links two levels up.
        File.CreateSymbolicLink(Path.Combine(_dev.FullName, "v4l/by-id/usb-046d_HD_Pro_Webcam_C920_ABC-video-index0"), "../../video0");
        File.CreateSymbolicLink(Path.Combine(_dev.FullName, "v4l/by-id/usb-046d_HD_Pro_Webcam_C920_ABC-video-index1"), "../../video1");
        File.CreateSymbolicLink(Path.Combine(_dev.FullName, "v4l/by-path/pci-0000:00:14.0-usb-0:1:1.0-video-index0"), "../../video0");
        File.CreateSymbolicLink(Path.Combine(_dev.FullName, "v4l/by-id/usb-gone-video-index0"), "../../video7");
    }

    [TearDown]
    public void RemoveDevTree() => _dev.Delete(recursive: true);

    [Test]
    public void Video_nodes_are_listed_in_numeric_order_and_other_names_are_ignored()
    {
        var nodes = CameraEnumerator.VideoNodes(_dev.FullName).Select(Path.GetFileName);

        Assert.That(string.Join(' ', nodes), Is.EqualTo("video0 video1 video2 video10"));
    }

    [Test]
    public void Each_node_gets_its_by_id_then_by_path_links_and_dangling_links_are_left_out()
    {
        var links = DeviceLinks.Scan(_dev.FullName);
        var video0 = Path.Combine(_dev.FullName, "video0");

        Assert.That(links.Keys, Is.EquivalentTo(new[] { video0, Path.Combine(_dev.FullName, "video1") }));
        Assert.That(string.Join(' ', links[video0].Select(l => Path.GetRelativePath(_dev.FullName, l))), Is.EqualTo(
            "v4l/by-id/usb-046d_HD_Pro_Webcam_C920_ABC-video-index0 v4l/by-path/pci-0000:00:14.0-usb-0:1:1.0-video-index0"));
    }

    [Test]
    public void A_link_resolves_to_its_node_and_a_node_to_itself()
    {
        var video0 = Path.Combine(_dev.FullName, "video0");

        Assert.That(DeviceLinks.ResolveNode(Path.Combine(_dev.FullName, "v4l/by-path/pci-0000:00:14.0-usb-0:1:1.0-video-index0")),
            Is.EqualTo(video0));
        Assert.That(DeviceLinks.ResolveNode(video0), Is.EqualTo(video0));
    }

    [Test]
    public void A_directory_without_video_nodes_or_links_gives_empty_results()
    {
        var empty = Directory.CreateTempSubdirectory("spectrum-empty-dev-");
        try
        {
            Assert.That(CameraEnumerator.VideoNodes(empty.FullName), Is.Empty);
            Assert.That(DeviceLinks.Scan(empty.FullName), Is.Empty);
            Assert.That(CameraEnumerator.VideoNodes(Path.Combine(empty.FullName, "missing")), Is.Empty);
            var scan = CameraEnumerator.Scan(empty.FullName);
            Assert.That(scan.Cameras, Is.Empty);
            Assert.That(scan.Skipped, Is.Empty);
        }
        finally
        {
            empty.Delete(recursive: true);
        }
    }

    [Test]
    public void Scanning_files_that_are_not_devices_skips_them_as_not_v4l2()
    {
        var scan = CameraEnumerator.Scan(_dev.FullName);

        Assert.That(scan.Cameras, Is.Empty);
        Assert.That(scan.Skipped.Select(s => s.Reason), Is.All.EqualTo("not a V4L2 device"));
        Assert.That(scan.Skipped, Has.Count.EqualTo(4));
    }
}
