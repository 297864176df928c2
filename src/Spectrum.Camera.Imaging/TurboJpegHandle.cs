using Microsoft.Win32.SafeHandles;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// Owns one TurboJPEG decompressor instance and destroys it exactly once, even if the converter holding it is never
/// disposed (the runtime's critical finalizer), and never while a decode on it is still running (SafeHandle's
/// reference count across the P/Invoke).
/// </summary>
internal sealed class TurboJpegHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    // Public for the interop marshaller's sake (CA1419); use Create.
    public TurboJpegHandle()
        : base(ownsHandle: true)
    {
    }

    /// <summary>A handle owning a new decompressor.</summary>
    /// <exception cref="InvalidOperationException">tjInitDecompress failed (out of memory).</exception>
    public static TurboJpegHandle Create()
    {
        var handle = new TurboJpegHandle();
        handle.SetHandle(TurboJpegNative.InitDecompress());
        if (handle.IsInvalid)
        {
            throw new InvalidOperationException("tjInitDecompress failed.");
        }

        return handle;
    }

    /// <summary>
    /// Replaces the decompressor with a fresh one, keeping this handle object (so a reset allocates no managed
    /// memory). Needed because TurboJPEG 2.x's tjDecompressHeader3 returns from a libjpeg error without aborting
    /// the decompressor, which then fails every later frame with the same error (measured with libjpeg-turbo
    /// 2.1.5: one frame with a damaged Huffman table stalled all that followed). Not thread-safe, like its owner.
    /// </summary>
    /// <returns>False if no new instance could be made; the old one is then kept.</returns>
    public bool Renew()
    {
        ObjectDisposedException.ThrowIf(IsClosed, this);
        var fresh = TurboJpegNative.InitDecompress();
        if (fresh == 0)
        {
            return false;
        }

        var old = handle;
        SetHandle(fresh);
        _ = TurboJpegNative.Destroy(old);
        return true;
    }

    protected override bool ReleaseHandle() => TurboJpegNative.Destroy(handle) == 0;
}
