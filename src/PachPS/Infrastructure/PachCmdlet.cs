using System.Management.Automation;
using PachPS.Engine;

namespace PachPS.Infrastructure;

/// <summary>Base of every PachPS cmdlet: the current store, and engine failures turned into ErrorRecords.</summary>
public abstract class PachCmdlet : PSCmdlet
{
    private CancellationTokenSource? _stopping;

    internal PachStore Store => StoreSession.Current;

    /// <summary>Cancelled when the user presses Ctrl+C (StopProcessing).</summary>
    protected CancellationToken CancelToken => (_stopping ??= new CancellationTokenSource()).Token;

    protected override void StopProcessing() => _stopping?.Cancel();

    /// <summary>Runs engine work; a failure ends the call.</summary>
    protected void Invoke(Action work)
    {
        try { work(); }
        catch (PachException ex) { ThrowTerminatingError(ToErrorRecord(ex)); }
        catch (OperationCanceledException ex) { ThrowTerminatingError(new ErrorRecord(ex, "OperationStopped", ErrorCategory.OperationStopped, null)); }
    }

    /// <summary>Runs engine work for one item; a failure is reported and the next item goes on.</summary>
    protected void InvokeEach(Action work)
    {
        try { work(); }
        catch (PachException ex) { WriteError(ToErrorRecord(ex)); }
    }

    internal static ErrorRecord ToErrorRecord(PachException ex) => new(ex, ex.ErrorId, ex.Kind switch
    {
        PachErrorKind.NotFound => ErrorCategory.ObjectNotFound,
        PachErrorKind.AlreadyExists => ErrorCategory.ResourceExists,
        PachErrorKind.InvalidArgument => ErrorCategory.InvalidArgument,
        PachErrorKind.InvalidOperation => ErrorCategory.InvalidOperation,
        PachErrorKind.InvalidData => ErrorCategory.InvalidData,
        PachErrorKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
        PachErrorKind.OperationStopped => ErrorCategory.OperationStopped,
        _ => ErrorCategory.NotSpecified,
    }, ex.Target);

    protected ErrorRecord Error(string id, ErrorCategory category, string message, object? target) =>
        new(new PachException(id, PachErrorKind.InvalidArgument, message, target), id, category, target);
}
