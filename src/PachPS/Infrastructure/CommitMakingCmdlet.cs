using System.Collections;
using System.Management.Automation;
using PachPS.Engine.Pfs;

namespace PachPS.Infrastructure;

/// <summary>
/// Base of the cmdlets that make a commit: the one definition of -Message and -Metadata, and the
/// <see cref="CommitNote"/> they become.
/// </summary>
public abstract class CommitMakingCmdlet : PachCmdlet
{
    /// <summary>The message of the commit this call makes (replaces the message of an open commit it writes to).</summary>
    [Parameter]
    public string? Message { get; set; }

    /// <summary>Key/value pairs (strings) stored on the commit; added to those of an open commit.</summary>
    [Parameter]
    public IDictionary? Metadata { get; set; }

    /// <summary>-Message and -Metadata as the engine takes them; null when neither is given; InvalidMetadata when bad.</summary>
    protected CommitNote? Note => CommitNoteArgument.From(Message, Metadata);
}
