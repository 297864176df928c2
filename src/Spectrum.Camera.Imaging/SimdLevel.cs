namespace Spectrum.Camera.Imaging;

/// <summary>
/// The widest vectors a kernel may use. Every kernel runs its widest loop first and finishes the row with the
/// narrower ones and a scalar tail, so any level gives the same bytes; tests force each level to prove that.
/// </summary>
internal enum SimdLevel
{
    Scalar = 0,
    Vector128 = 1,
    Vector256 = 2,
}
