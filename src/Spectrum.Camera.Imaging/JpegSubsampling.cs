namespace Spectrum.Camera.Imaging;

/// <summary>TurboJPEG's TJSAMP values: the chroma subsampling a JPEG was encoded with.</summary>
internal enum JpegSubsampling
{
    S444 = 0,
    S422 = 1,
    S420 = 2,
    Gray = 3,
    S440 = 4,
    S411 = 5,
}
