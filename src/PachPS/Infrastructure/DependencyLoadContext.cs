using System.Management.Automation;
using System.Reflection;
using System.Runtime.Loader;

namespace PachPS.Infrastructure;

/// <summary>
/// Loads PachPS.Engine and its dependencies (LiteDB, ...) from the module's deps folder into their own load context,
/// so PachPS can sit beside modules that ship other versions of the same libraries.
/// </summary>
internal sealed class DependencyLoadContext : AssemblyLoadContext
{
    private static readonly string DepsFolder = Path.Combine(Path.GetDirectoryName(typeof(DependencyLoadContext).Assembly.Location)!, "deps");
    internal static readonly DependencyLoadContext Instance = new();

    private DependencyLoadContext() : base("PachPS.Dependencies", isCollectible: false) { }

    protected override Assembly? Load(AssemblyName name)
    {
        var file = Path.Combine(DepsFolder, name.Name + ".dll");
        return File.Exists(file) ? LoadFromAssemblyPath(file) : null;
    }

    internal static Assembly? ResolveEngine(AssemblyLoadContext context, AssemblyName name) =>
        name.Name == "PachPS.Engine" ? Instance.LoadFromAssemblyName(name) : null;
}

/// <summary>
/// Hooks the engine resolver in. PachPS.psm1 calls <see cref="Register"/> before it imports the cmdlets, because
/// PowerShell reflects over the cmdlets' parameter types (some are engine types) before any module initializer runs.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyCleanup
{
    private static int _registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 0) AssemblyLoadContext.Default.Resolving += DependencyLoadContext.ResolveEngine;
    }

    /// <summary>Removing the module from a runspace lets go of that runspace's store (called on its pipeline thread).</summary>
    public void OnRemove(PSModuleInfo module) => StoreSession.Disconnect();
}
