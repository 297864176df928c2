namespace Spectrum.Camera.Media.Transport;

/// <summary>What the transport hands each command to: the device's side of the command queue.</summary>
public interface ICommandHandler
{
    /// <summary>
    /// Answers <paramref name="request"/> into <paramref name="response"/> (already begun with the chain's writable
    /// length). Runs on the device loop; must not block.
    /// </summary>
    void Handle(in CommandRequest request, CommandResponse response);
}
