namespace Spectrum.Camera.Imaging;

/// <summary>
/// The memory layouts the converters understand: the raw camera and guest formats, plus the planar layouts
/// libjpeg-turbo decodes MJPEG into (I422 is what most webcams send; I444, I440 and grey are rare but cheap to
/// support through the general scaler).
/// </summary>
internal enum ImageKind
{
    Yuyv,
    Uyvy,
    Nv12,
    I420,
    I422,
    I444,
    I440,
    Gray,
}
