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

    /// <summary>
    /// AVX-512: only where 512-bit instructions measurably pay, the deinterleave (<see cref="InterleaveKernels.Split"/>,
    /// whose 16-to-8-bit narrow is one instruction at this width); every other kernel runs its Vector256 loops.
    /// </summary>
    Vector512 = 3,
}
