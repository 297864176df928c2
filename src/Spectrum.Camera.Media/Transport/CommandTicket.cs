namespace Spectrum.Camera.Media.Transport;

/// <summary>
/// Names a command whose answer was deferred (<see cref="CommandResponse.Defer"/>). Tickets are never reused, so one
/// that outlived its command (the device was reset meanwhile) is recognised and ignored.
/// </summary>
public readonly record struct CommandTicket(ulong Id);
