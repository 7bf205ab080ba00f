namespace PachPS.Engine;

/// <summary>What kind of failure a <see cref="PachException"/> is; the cmdlets map it to an ErrorCategory.</summary>
public enum PachErrorKind
{
    NotFound,
    AlreadyExists,
    InvalidArgument,
    InvalidOperation,
    InvalidData,
    ResourceUnavailable,
    OperationStopped,
    /// <summary>Something PachPS does not do (yet), such as a spout on the Kubernetes executor.</summary>
    NotSupported,
    /// <summary>A server was asked without a valid token (missing, wrong, revoked or expired).</summary>
    Unauthenticated,
    /// <summary>A server's token does not allow what was asked.</summary>
    Forbidden,
}

/// <summary>A failure with a stable id (for example <c>RepoNotFound</c>) and the object it is about.</summary>
public sealed class PachException : Exception
{
    public PachException(string errorId, PachErrorKind kind, string message, object? target = null, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
        Target = target;
    }

    public string ErrorId { get; }
    public PachErrorKind Kind { get; }
    public object? Target { get; }

    internal static PachException NotFound(string id, string message, object? target) => new(id, PachErrorKind.NotFound, message, target);
    internal static PachException Invalid(string id, string message, object? target) => new(id, PachErrorKind.InvalidArgument, message, target);
    internal static PachException State(string id, string message, object? target) => new(id, PachErrorKind.InvalidOperation, message, target);
}
