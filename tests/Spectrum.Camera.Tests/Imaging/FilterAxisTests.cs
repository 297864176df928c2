using Spectrum.Camera.Imaging;

namespace Spectrum.Camera.Tests.Imaging;

public class FilterAxisTests
{
    private static readonly (int From, int To)[] Ratios =
    [
        (1920, 1280), (1920, 640), (1920, 320), (1440, 640), (1080, 720), (1080, 480), (720, 240), (960, 640), (641, 7),
        (100, 100), (3, 2), (1, 1), (2, 1), (1, 5), (240, 480), (720, 1080), (320, 1920), (2, 3),
    ];

    [Test]
    public void Every_sample_weighs_exactly_one_and_reads_inside_the_source()
    {
        foreach (var (from, to) in Ratios)
        {
            var axis = FilterAxis.Create(from, to);
            for (var i = 0; i < to; i++)
            {
                var weights = axis.WeightsOf(i).ToArray();
                Assert.That(weights.Sum(), Is.EqualTo(FilterAxis.One), $"{from}->{to} sample {i}");
                Assert.That(weights, Has.All.InRange(0, FilterAxis.One));
                Assert.That(axis.Starts[i], Is.InRange(0, from - axis.Taps), $"{from}->{to} sample {i}");
            }
        }
    }

    [Test]
    public void Shrinking_is_an_area_average_within_one_256th_of_exact()
    {
        foreach (var (from, to) in Ratios.Where(r => r.From >= r.To))
        {
            var axis = FilterAxis.Create(from, to);
            var scale = (double)from / to;
            for (var i = 0; i < to; i++)
            {
                for (var t = 0; t < axis.Taps; t++)
                {
                    var j = axis.Starts[i] + t;
                    var covered = Math.Max(0, Math.Min(j + 1, (i + 1) * scale) - Math.Max(j, i * scale));
                    Assert.That(axis.WeightsOf(i)[t], Is.EqualTo(covered / scale * FilterAxis.One).Within(1.0), $"{from}->{to} sample {i} tap {t}");
                }
            }
        }
    }

    [Test]
    public void Ratio_one_is_the_identity_and_ratio_two_the_average_of_pairs()
    {
        var identity = FilterAxis.Create(37, 37);
        Assert.That(identity.Taps, Is.EqualTo(1));
        Assert.That(identity.Starts, Is.EqualTo(Enumerable.Range(0, 37)));
        Assert.That(identity.Weights, Has.All.EqualTo(256));

        var half = FilterAxis.Create(10, 5);
        Assert.That(half.Taps, Is.EqualTo(2));
        Assert.That(half.Starts, Is.EqualTo((int[])[0, 2, 4, 6, 8]));
        Assert.That(half.Weights, Has.All.EqualTo(128));

        var third = FilterAxis.Create(9, 3);
        Assert.That(third.Weights, Is.EqualTo((int[])[85, 86, 85, 85, 86, 85, 85, 86, 85]));
    }

    [Test]
    public void Doubling_is_centred_bilinear_with_clamped_edges()
    {
        var axis = FilterAxis.Create(3, 6);
        // Destination centres in source units: -0.25, 0.25, 0.75, 1.25, 1.75, 2.25.
        Assert.That(Enumerable.Range(0, 6).Select(i => (axis.Starts[i], axis.WeightsOf(i)[0], axis.WeightsOf(i)[1])), Is.EqualTo(new[]
        {
            (0, 256, 0), (0, 192, 64), (0, 64, 192), (1, 192, 64), (1, 64, 192), (1, 0, 256),
        }));
    }
}
