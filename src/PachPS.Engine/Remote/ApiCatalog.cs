using System.Reflection;
using PachPS.Engine.Pfs;
using PachPS.Engine.Pps;
using PachPS.Engine.Provenance;

namespace PachPS.Engine.Remote;

/// <summary>
/// One operation of the network API: a method of a service interface and its route. The API is the service
/// interfaces themselves (one POST route per method, arguments as a JSON object by parameter name), so the server and
/// the client are both built from the same list and cannot drift apart.
/// </summary>
public sealed class ApiOperation
{
    internal ApiOperation(string service, Type contract, MethodInfo method, string name)
    {
        Service = service;
        Contract = contract;
        Method = method;
        Name = name;
        Route = $"/api/v1/{service}/{name}";
        var parameters = method.GetParameters();
        Arguments = parameters.Where(p => !IsLocal(p.ParameterType)).ToList();
        Progress = parameters.FirstOrDefault(p => ProgressType(p.ParameterType) is not null);
        ResultType = method.ReturnType.IsGenericType && method.ReturnType.GetGenericTypeDefinition() == typeof(Task<>)
            ? method.ReturnType.GetGenericArguments()[0] : method.ReturnType;
        Uploads = parameters.Any(p => p.ParameterType == typeof(IReadOnlyList<FileSource>) || p.ParameterType == typeof(Func<Stream>));
        Downloads = ResultType == typeof(Stream) || (ResultType.IsGenericType && ResultType.GetGenericArguments().Contains(typeof(Stream)));
    }

    /// <summary>files, pipelines, provenance, admin or tokens.</summary>
    public string Service { get; }
    /// <summary>The service interface the method belongs to.</summary>
    public Type Contract { get; }
    public MethodInfo Method { get; }
    /// <summary>The method's name; an overload adds its parameter names (PlanDatums-specs).</summary>
    public string Name { get; }
    public string Route { get; }
    /// <summary>The parameters that travel as JSON (not a cancellation token or a progress callback).</summary>
    public IReadOnlyList<ParameterInfo> Arguments { get; }
    /// <summary>The progress parameter, if any: its reports come back as frames before the result.</summary>
    public ParameterInfo? Progress { get; }
    /// <summary>What the call returns (T for a Task of T).</summary>
    public Type ResultType { get; }
    /// <summary>The call sends file content: the request body is an upload (<see cref="ContentFraming"/>).</summary>
    public bool Uploads { get; }
    /// <summary>The call returns file content: the response body is the content itself.</summary>
    public bool Downloads { get; }

    /// <summary>The value reported through an IProgress of T parameter, or null for another type.</summary>
    public static Type? ProgressType(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IProgress<>) ? type.GetGenericArguments()[0] : null;

    private static bool IsLocal(Type type) => type == typeof(CancellationToken) || ProgressType(type) is not null;

    public override string ToString() => Route;
}

/// <summary>Every operation of the API, by service.</summary>
public static class ApiCatalog
{
    /// <summary>The services the API serves, by the name in their routes.</summary>
    public static readonly IReadOnlyList<(string Service, Type Contract)> Services =
    [
        ("files", typeof(IFileService)),
        ("pipelines", typeof(IPipelineService)),
        ("provenance", typeof(IProvenanceService)),
        ("admin", typeof(IStoreAdmin)),
        ("tokens", typeof(ITokenService)),
    ];

    public static readonly IReadOnlyList<ApiOperation> All = Build();

    private static readonly Dictionary<MethodInfo, ApiOperation> ByMethod = All.ToDictionary(o => o.Method);

    /// <summary>The operation that serves an interface method (properties are not operations).</summary>
    public static ApiOperation Of(MethodInfo method) => ByMethod.TryGetValue(method, out var operation)
        ? operation : throw new InvalidOperationException($"{method.DeclaringType?.Name}.{method.Name} is not an API operation.");

    private static List<ApiOperation> Build()
    {
        var operations = new List<ApiOperation>();
        foreach (var (service, contract) in Services)
        {
            // Declaration order (metadata tokens), so the first of overloads keeps the plain name whatever reflection's order.
            var methods = contract.GetMethods().Where(m => !m.IsSpecialName).OrderBy(m => m.MetadataToken).ToList();
            foreach (var method in methods)
            {
                var first = methods.First(m => m.Name == method.Name) == method;
                var name = first ? method.Name : method.Name + "-" + string.Join("-", method.GetParameters().Select(p => p.Name));
                operations.Add(new ApiOperation(service, contract, method, name));
            }
        }
        return operations;
    }
}
