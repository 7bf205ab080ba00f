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

/// <summary>Hooks the engine resolver in when the module is imported and out when it is removed.</summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    public void OnImport() => AssemblyLoadContext.Default.Resolving += DependencyLoadContext.ResolveEngine;

    public void OnRemove(PSModuleInfo module)
    {
        AssemblyLoadContext.Default.Resolving -= DependencyLoadContext.ResolveEngine;
        StoreSession.Disconnect();
    }
}
