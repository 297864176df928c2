namespace Spectrum.Camera.Virtio;

/// <summary>A guest-physical byte range: a descriptor's buffer or one entry of a guest SG list.</summary>
public readonly record struct GuestRange(ulong Address, uint Length);
