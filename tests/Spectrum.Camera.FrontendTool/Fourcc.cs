namespace Spectrum.Camera.FrontendTool;

/// <summary>Four-character pixel format codes as the command line and the JSON lines write them.</summary>
internal static class Fourcc
{
    public static uint Parse(string s) =>
        s.Length == 4 ? s[0] | ((uint)s[1] << 8) | ((uint)s[2] << 16) | ((uint)s[3] << 24)
            : throw new FormatException($"a fourcc has 4 characters, not '{s}'");

    public static string Text(uint v) =>
        new([(char)(v & 0xff), (char)((v >> 8) & 0xff), (char)((v >> 16) & 0xff), (char)(v >> 24)]);
}
