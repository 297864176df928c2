using Spectrum.Camera.Frames;

namespace Spectrum.Camera.Tests.Frames;

public class StableMenuTests
{
    private static readonly StableMenu Menu = StableMenu.Default;

    [Test]
    public void Default_menu_lists_formats_sizes_and_rates_in_enumeration_order()
    {
        Assert.That(Menu.Formats, Is.EqualTo(new[] { PixelFormats.Yuyv, PixelFormats.Nv12, PixelFormats.Yu12 }));
        Assert.That(Menu.Sizes, Is.EqualTo(new (uint, uint)[] { (320, 240), (640, 480), (1280, 720), (1920, 1080) }));
        Assert.That(Menu.Rates, Is.EqualTo(new[] { new FrameRate(1, 30), new FrameRate(1, 15) }));
        Assert.That(Menu.DefaultFormat, Is.EqualTo(new FrameFormat(PixelFormats.Yuyv, 640, 480)));
        Assert.That(Menu.DefaultRate, Is.EqualTo(new FrameRate(1, 30)));
    }

    [Test]
    public void Enum_fmt_walks_the_formats_then_stops()
    {
        var found = new List<uint>();
        for (uint index = 0; Menu.TryGetFormat(index, out var pixelFormat); index++)
        {
            found.Add(pixelFormat);
        }

        Assert.That(found, Is.EqualTo(Menu.Formats));
        Assert.That(Menu.TryGetFormat(uint.MaxValue, out _), Is.False);
    }

    [Test]
    public void Enum_framesizes_offers_every_size_for_every_format()
    {
        foreach (var pixelFormat in Menu.Formats)
        {
            var found = new List<(uint, uint)>();
            for (uint index = 0; Menu.TryGetSize(pixelFormat, index, out var w, out var h); index++)
            {
                found.Add((w, h));
            }

            Assert.That(found, Is.EqualTo(Menu.Sizes), PixelFormats.ToFourccString(pixelFormat));
        }

        Assert.That(Menu.TryGetSize(PixelFormats.FromChars('M', 'J', 'P', 'G'), 0, out _, out _), Is.False);
        Assert.That(Menu.TryGetSize(PixelFormats.Yuyv, uint.MaxValue, out _, out _), Is.False);
    }

    [Test]
    public void Enum_frameintervals_lists_fastest_first_for_exact_menu_sizes_only()
    {
        Assert.That(Menu.TryGetInterval(PixelFormats.Nv12, 1280, 720, 0, out var first), Is.True);
        Assert.That(Menu.TryGetInterval(PixelFormats.Nv12, 1280, 720, 1, out var second), Is.True);
        Assert.That((first, second), Is.EqualTo((new FrameRate(1, 30), new FrameRate(1, 15))));

        Assert.That(Menu.TryGetInterval(PixelFormats.Nv12, 1280, 720, 2, out _), Is.False);
        Assert.That(Menu.TryGetInterval(PixelFormats.Nv12, 1280, 721, 0, out _), Is.False);
        Assert.That(Menu.TryGetInterval(0, 1280, 720, 0, out _), Is.False);
    }

    [Test]
    public void Adjust_returns_every_menu_format_unchanged()
    {
        foreach (var pixelFormat in Menu.Formats)
        {
            foreach (var (w, h) in Menu.Sizes)
            {
                Assert.That(Menu.Adjust(pixelFormat, w, h), Is.EqualTo(new FrameFormat(pixelFormat, w, h)));
            }
        }
    }

    [TestCase(0u, 0u, 320u, 240u)]
    [TestCase(1u, 1u, 320u, 240u)]
    [TestCase(32768u, 32768u, 1920u, 1080u)]
    [TestCase(uint.MaxValue, uint.MaxValue, 1920u, 1080u)]
    [TestCase(uint.MaxValue, 0u, 320u, 240u)]
    [TestCase(0u, uint.MaxValue, 320u, 240u)]
    [TestCase(uint.MaxValue, 1u, 1920u, 1080u)]
    [TestCase(700u, 500u, 640u, 480u)]
    [TestCase(1280u, 480u, 1280u, 720u)] // Area tie between 640x480 and 1280x720: the nearer width wins.
    [TestCase(1440u, 1080u, 1920u, 1080u)]
    [TestCase(176u, 144u, 320u, 240u)]
    public void Adjust_maps_any_size_to_the_nearest_menu_size(uint width, uint height, uint expectedWidth, uint expectedHeight)
    {
        var adjusted = Menu.Adjust(PixelFormats.Nv12, width, height);
        Assert.That(adjusted, Is.EqualTo(new FrameFormat(PixelFormats.Nv12, expectedWidth, expectedHeight)));
        Assert.That(Menu.Contains(adjusted), Is.True);
    }

    [Test]
    public void Adjust_replaces_an_unknown_fourcc_with_the_first_format()
    {
        Assert.That(Menu.Adjust(PixelFormats.FromChars('M', 'J', 'P', 'G'), 640, 480).PixelFormat, Is.EqualTo(PixelFormats.Yuyv));
        Assert.That(Menu.Adjust(0, 0, 0), Is.EqualTo(new FrameFormat(PixelFormats.Yuyv, 320, 240)));
        Assert.That(Menu.Adjust(PixelFormats.Yu12, 640, 480).PixelFormat, Is.EqualTo(PixelFormats.Yu12));
    }

    [TestCase(1u, 30u, 30u)]
    [TestCase(1u, 15u, 15u)]
    [TestCase(2u, 60u, 30u)]
    [TestCase(1001u, 30000u, 30u)]
    [TestCase(1u, 25u, 30u)]
    [TestCase(1u, 20u, 15u)]
    [TestCase(1u, 22u, 15u)]
    [TestCase(2u, 45u, 30u)] // 22.5 fps is equally far from both: the faster rate wins.
    [TestCase(1u, 60u, 30u)]
    [TestCase(1u, 1u, 15u)]
    [TestCase(uint.MaxValue, uint.MaxValue, 15u)]
    [TestCase(1u, uint.MaxValue, 30u)]
    [TestCase(uint.MaxValue, 1u, 15u)]
    [TestCase(0u, 0u, 30u)]
    [TestCase(0u, 30u, 30u)]
    [TestCase(30u, 0u, 30u)]
    public void SnapInterval_picks_the_nearest_rate_in_frames_per_second(uint numerator, uint denominator, uint expectedFps)
    {
        Assert.That(Menu.SnapInterval(numerator, denominator), Is.EqualTo(FrameRate.FromFps(expectedFps)));
    }

    [Test]
    public void Constructor_sorts_sizes_ascending_and_rates_fastest_first_but_keeps_format_order()
    {
        var menu = new StableMenu(
            [PixelFormats.Yu12, PixelFormats.Yuyv],
            [(1920, 1080), (320, 240), (1280, 720)],
            [5, 60, 24]);

        Assert.That(menu.Formats, Is.EqualTo(new[] { PixelFormats.Yu12, PixelFormats.Yuyv }));
        Assert.That(menu.Sizes, Is.EqualTo(new (uint, uint)[] { (320, 240), (1280, 720), (1920, 1080) }));
        Assert.That(menu.Rates.Select(r => r.Denominator), Is.EqualTo(new uint[] { 60, 24, 5 }));
    }

    [Test]
    public void A_menu_without_640x480_at_30_fps_defaults_to_the_nearest_entries()
    {
        var menu = new StableMenu([PixelFormats.Nv12], [(1280, 720), (320, 240)], [60, 15]);
        Assert.That(menu.DefaultFormat, Is.EqualTo(new FrameFormat(PixelFormats.Nv12, 320, 240)));
        Assert.That(menu.DefaultRate, Is.EqualTo(FrameRate.FromFps(15)));
        Assert.That(menu.SnapInterval(0, 0), Is.EqualTo(FrameRate.FromFps(15)));
    }

    public static IEnumerable<TestCaseData> InvalidMenus()
    {
        uint[] yuyv = [PixelFormats.Yuyv];
        (uint, uint)[] vga = [(640, 480)];
        uint[] fps30 = [30];
        TestCaseData Case(string name, uint[] formats, (uint, uint)[] sizes, uint[] fps) =>
            new TestCaseData(formats, sizes, fps).SetName(name);

        yield return Case("no formats", [], vga, fps30);
        yield return Case("no sizes", yuyv, [], fps30);
        yield return Case("no rates", yuyv, vga, []);
        yield return Case("unsupported fourcc", [0x47504A4Du], vga, fps30);
        yield return Case("duplicate format", [PixelFormats.Yuyv, PixelFormats.Yuyv], vga, fps30);
        yield return Case("odd width", yuyv, [(641, 480)], fps30);
        yield return Case("odd height", yuyv, [(640, 481)], fps30);
        yield return Case("too wide", yuyv, [(8194, 480)], fps30);
        yield return Case("too narrow", yuyv, [(62, 480)], fps30);
        yield return Case("zero height", yuyv, [(640, 0)], fps30);
        yield return Case("duplicate size", yuyv, [(640, 480), (640, 480)], fps30);
        yield return Case("zero fps", yuyv, vga, [0]);
        yield return Case("too fast", yuyv, vga, [241]);
        yield return Case("duplicate fps", yuyv, vga, [30, 30]);
    }

    [TestCaseSource(nameof(InvalidMenus))]
    public void Constructor_refuses_invalid_menus(uint[] formats, (uint, uint)[] sizes, uint[] fps)
    {
        Assert.That(() => new StableMenu(formats, sizes, fps), Throws.ArgumentException);
    }

    [Test]
    public void Largest_allowed_menu_size_is_accepted()
    {
        var menu = new StableMenu([PixelFormats.Yuyv], [(StableMenu.MaxDimension, StableMenu.MaxDimension), (64, 32)], [240, 1]);
        Assert.That(menu.Adjust(PixelFormats.Yuyv, uint.MaxValue, uint.MaxValue).SizeImage, Is.EqualTo(2u * 8192 * 8192));
    }

    [Test]
    public void ToString_uses_the_parse_syntax_and_round_trips()
    {
        Assert.That(Menu.ToString(), Is.EqualTo("formats=YUYV,NV12,YU12;sizes=320x240,640x480,1280x720,1920x1080;fps=30,15"));

        var custom = new StableMenu([PixelFormats.Nv12], [(1280, 720), (640, 480)], [15, 25]);
        var reparsed = StableMenu.Parse(custom.ToString());
        Assert.That(reparsed.Formats, Is.EqualTo(custom.Formats));
        Assert.That(reparsed.Sizes, Is.EqualTo(custom.Sizes));
        Assert.That(reparsed.Rates, Is.EqualTo(custom.Rates));
    }

    [Test]
    public void Parse_keeps_defaults_for_sections_left_out_and_tolerates_spacing_and_key_case()
    {
        var menu = StableMenu.Parse(" SIZES = 1280x720 , 640X480 ; ");
        Assert.That(menu.Formats, Is.EqualTo(Menu.Formats));
        Assert.That(menu.Sizes, Is.EqualTo(new (uint, uint)[] { (640, 480), (1280, 720) }));
        Assert.That(menu.Rates, Is.EqualTo(Menu.Rates));

        var formatsOnly = StableMenu.Parse("formats=YU12,NV12");
        Assert.That(formatsOnly.Formats, Is.EqualTo(new[] { PixelFormats.Yu12, PixelFormats.Nv12 }));
        Assert.That(formatsOnly.DefaultFormat, Is.EqualTo(new FrameFormat(PixelFormats.Yu12, 640, 480)));
    }

    [TestCase("", "empty")]
    [TestCase("   ", "empty")]
    [TestCase("formats", "is not key=value")]
    [TestCase("colour=red", "unknown key \"colour\"")]
    [TestCase("formats=YUY2", "\"YUY2\" is not a supported pixel format (supported: YUYV, NV12, YU12)")]
    [TestCase("formats=yuyv", "\"yuyv\" is not a supported pixel format")]
    [TestCase("formats=YUYV,,NV12", "empty value")]
    [TestCase("formats=", "empty value")]
    [TestCase("formats=NV12,NV12", "pixel format \"NV12\" is listed more than once")]
    [TestCase("sizes=640", "size \"640\" is not WIDTHxHEIGHT")]
    [TestCase("sizes=-640x480", "is not WIDTHxHEIGHT")]
    [TestCase("sizes=640x480x2", "is not WIDTHxHEIGHT")]
    [TestCase("sizes=99999999999x480", "is not WIDTHxHEIGHT")]
    [TestCase("sizes=641x480", "size 641x480 must have an even width and height")]
    [TestCase("sizes=16384x480", "size 16384x480 is outside 64x32 to 8192x8192")]
    [TestCase("sizes=640x480,640x480", "size 640x480 is listed more than once")]
    [TestCase("fps=abc", "frame rate \"abc\" is not a whole number")]
    [TestCase("fps=29.97", "frame rate \"29.97\" is not a whole number")]
    [TestCase("fps=0", "frame rate 0 fps is outside 1 to 240")]
    [TestCase("fps=30;fps=15", "section \"fps\" is given more than once")]
    public void Parse_errors_say_what_is_wrong(string spec, string expected)
    {
        Assert.That(() => StableMenu.Parse(spec), Throws.TypeOf<FormatException>().With.Message.Contains(expected));
        Assert.That(StableMenu.TryParse(spec, out var menu, out var error), Is.False);
        Assert.That(menu, Is.Null);
        Assert.That(error, Does.StartWith($"Invalid menu spec \"{spec}\": ").And.Contain(expected));
    }

    [Test]
    public void TryParse_of_null_fails_with_a_message()
    {
        Assert.That(StableMenu.TryParse(null, out _, out var error), Is.False);
        Assert.That(error, Does.Contain("empty"));
    }
}
