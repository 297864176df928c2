namespace Spectrum.Camera.Imaging;

/// <summary>
/// What became of one camera frame. Everything but <see cref="Converted"/> means the frame was dropped: the
/// destination holds no complete frame and must not be shown to the guest. Dropping is a value, never an exception,
/// because bad frames are ordinary camera behaviour (a USB hiccup truncates an MJPEG frame) and the camera thread
/// must simply carry on with the next one.
/// </summary>
public enum ConversionResult
{
    /// <summary>The destination holds the converted frame.</summary>
    Converted = 0,

    /// <summary>A raw frame had fewer bytes than its planes need (the driver's bytesused was short).</summary>
    SourceTooShort,

    /// <summary>A JPEG frame was empty, not a JPEG, truncated or corrupt (any libjpeg error or warning).</summary>
    CorruptJpeg,

    /// <summary>A JPEG frame decoded to another size than the configured camera mode.</summary>
    JpegSizeMismatch,

    /// <summary>A JPEG frame used a colour space or chroma subsampling this library does not convert (CMYK, 4:1:1).</summary>
    UnsupportedJpeg,
}
