namespace Spectrum.Camera.Imaging;

/// <summary>
/// Where the samples of one colour component (Y, Cb or Cr) lie: sample (x, y) is byte
/// <c>Offset + x * Step</c> of row y of plane <see cref="Plane"/>. Packed YUYV's Cb, for example, is plane 0,
/// offset 1, step 4; NV12's Cr is plane 1, offset 1, step 2.
/// </summary>
internal readonly record struct ComponentLayout(int Plane, int Offset, int Step);
