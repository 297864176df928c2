namespace Spectrum.Camera.Media.Protocol;

/// <summary>virtio-media command, event and config constants (virtio-media.md §1.3, §3, §5).</summary>
public static class VirtioMediaWire
{
    public const uint DeviceId = 48;

    public const uint CmdOpen = 1;
    public const uint CmdClose = 2;
    public const uint CmdIoctl = 3;
    public const uint CmdMmap = 4;
    public const uint CmdMunmap = 5;

    public const uint EventError = 0;
    public const uint EventDqbuf = 1;
    public const uint EventV4l2 = 2;

    /// <summary>cmd header: le32 cmd, le32 reserved.</summary>
    public const int CmdHeaderSize = 8;

    /// <summary>resp header: le32 status, le32 reserved.</summary>
    public const int RespHeaderSize = 8;

    /// <summary>CMD_CLOSE / CMD_IOCTL request: header, le32 session_id, le32 code or reserved.</summary>
    public const int CmdWithSessionSize = 16;

    /// <summary>resp_open: header, le32 session_id, le32 reserved.</summary>
    public const int RespOpenSize = 16;

    /// <summary>EVT_DQBUF: header (8) + v4l2_buffer (88) + 8 × v4l2_plane (64) = 608; always sent whole.</summary>
    public const int EventDqbufSize = 608;

    /// <summary>EVT_ERROR: header (8) + le32 errno + le32 reserved.</summary>
    public const int EventErrorSize = 16;

    /// <summary>One guest SG entry: le64 start, le32 len, le32 reserved.</summary>
    public const int SgEntrySize = 16;

    /// <summary>Config space: le32 device_caps, le32 device_type, u8 card[32].</summary>
    public const int ConfigSize = 40;

    public const int CardCapacity = 32;
}
