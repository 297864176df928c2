using Microsoft.Win32.SafeHandles;

namespace Spectrum.Camera.Imaging;

/// <summary>
/// Owns one TurboJPEG decompressor instance and destroys it exactly once, even if the converter holding it is never
/// disposed (the runtime's critical finalizer), and never while a decode on it is still running (SafeHandle's
/// reference count across the P/Invoke).
/// </summary>
internal sealed class TurboJpegHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public TurboJpegHandle()
        : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle() => TurboJpegNative.Destroy(handle) == 0;
}
