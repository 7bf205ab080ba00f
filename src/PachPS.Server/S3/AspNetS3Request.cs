using Microsoft.AspNetCore.Http.Features;
using PachPS.Engine.S3Api;

namespace PachPS.Server.S3;

/// <summary>An ASP.NET Core request as the S3 protocol reads it.</summary>
internal sealed class AspNetS3Request(HttpContext context) : IS3Request
{
    private readonly HttpRequest _request = context.Request;

    public string Method => _request.Method;

    public string RawTarget => context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? _request.Path.Value + _request.QueryString.Value;

    public string Host => _request.Host.Value ?? "";

    public IReadOnlyList<string> Header(string name) => _request.Headers[name].Select(v => v ?? "").ToList();

    public string? Query(string name) => _request.Query.TryGetValue(name, out var values) ? values.FirstOrDefault() ?? "" : null;

    public Stream Body => _request.Body;

    public long? ContentLength => _request.ContentLength;
}
