using PachPS.Engine.Pfs;

namespace PachPS.Infrastructure;

/// <summary>The trigger parameters New-PachBranch and Set-PachBranchTrigger share: -Trigger, -Size, -Commits, -Cron, -All.</summary>
internal static class BranchTriggerParameters
{
    /// <summary>The trigger they describe; a size that does not parse is BranchTriggerInvalid (thrown by the engine).</summary>
    public static BranchTrigger Build(string trigger, string? size, int? commits, string? cron, bool all) =>
        new(trigger, size is null ? null : BranchTrigger.ParseSize(size), commits, cron, all);
}
