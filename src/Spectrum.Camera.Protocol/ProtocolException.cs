namespace Spectrum.Camera.Protocol;

/// <summary>
/// The peer broke the protocol (oversized or unparsable packet, unexpected fds, a message out of order). The
/// connection is closed after logging <see cref="Exception.Message"/>, which says what was wrong.
/// </summary>
public sealed class ProtocolException : Exception
{
    public ProtocolException()
    {
    }

    public ProtocolException(string message)
        : base(message)
    {
    }

    public ProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
