using System.Runtime.InteropServices;

namespace Spectrum.Camera.Uapi;

/// <summary>The virtio-media config space (40 bytes): le32 device_caps, le32 device_type, u8 card[32].</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct VirtioMediaConfig
{
    public uint DeviceCaps;

    /// <summary>The video node type the driver registers (0: VFL_TYPE_VIDEO).</summary>
    public uint DeviceType;

    public fixed byte Card[VirtioMediaWire.CardCapacity];

    /// <summary>A config with <paramref name="card"/> (at most 31 bytes of UTF-8, NUL-padded).</summary>
    public static VirtioMediaConfig Create(uint deviceCaps, uint deviceType, ReadOnlySpan<byte> card)
    {
        if (card.Length >= VirtioMediaWire.CardCapacity)
        {
            throw new ArgumentException($"the card name must be shorter than {VirtioMediaWire.CardCapacity} bytes", nameof(card));
        }

        var config = new VirtioMediaConfig { DeviceCaps = deviceCaps, DeviceType = deviceType };
        card.CopyTo(new Span<byte>(config.Card, VirtioMediaWire.CardCapacity));
        return config;
    }
}
