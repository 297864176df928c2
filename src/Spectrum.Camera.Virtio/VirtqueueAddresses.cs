namespace Spectrum.Camera.Virtio;

/// <summary>The three ring addresses of a split virtqueue in VMM user (virtual) address space, as SET_VRING_ADDR sends them.</summary>
public readonly record struct VirtqueueAddresses(ulong DescriptorTable, ulong AvailRing, ulong UsedRing);
