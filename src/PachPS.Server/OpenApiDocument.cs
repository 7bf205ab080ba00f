using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using PachPS.Engine.Remote;

namespace PachPS.Server;

/// <summary>
/// The API's OpenAPI 3.1 document (/openapi.json), built from the same catalogue the routes are: each operation's
/// arguments and result described by JSON schemas of the engine's own records, as the wire serializes them.
/// </summary>
public static class OpenApiDocument
{
    public static JsonObject Build(string version)
    {
        var paths = new JsonObject();
        foreach (var operation in ApiCatalog.All)
        {
            var properties = new JsonObject();
            var required = new JsonArray();
            foreach (var parameter in operation.Arguments)
            {
                properties[parameter.Name!] = parameter.ParameterType == typeof(Func<Stream>)
                    ? new JsonObject { ["description"] = "(the content follows in the upload's frames)" }
                    : Schema(parameter.ParameterType);
                if (!parameter.HasDefaultValue) required.Add(parameter.Name!);
            }
            var arguments = new JsonObject { ["type"] = "object", ["properties"] = properties, ["required"] = required };
            var requestBody = operation.Uploads
                ? new JsonObject
                {
                    ["description"] = "4-byte big-endian length and the arguments as JSON, then each file as frames (4-byte length, bytes), each file ended by an empty frame.",
                    ["content"] = new JsonObject { [Wire.UploadMediaType] = new JsonObject { ["x-arguments"] = arguments } },
                }
                : new JsonObject { ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = arguments } } };
            var result = operation.ResultType == typeof(void) ? null : operation.Downloads
                ? new JsonObject { ["application/octet-stream"] = new JsonObject() }
                : new JsonObject
                {
                    [operation.Progress is null ? "application/json" : Wire.FramesMediaType] = new JsonObject { ["schema"] = Schema(operation.ResultType) },
                };
            var ok = new JsonObject { ["description"] = operation.Progress is null ? "the result" : "progress frames, then a frame with the result (?progress=1 asks for progress)" };
            if (result is not null) ok["content"] = result;
            paths[operation.Route] = new JsonObject
            {
                ["post"] = new JsonObject
                {
                    ["operationId"] = operation.Service + "." + operation.Name,
                    ["tags"] = new JsonArray(operation.Service),
                    ["x-role"] = Access.Required(operation).ToString(),
                    ["requestBody"] = requestBody,
                    ["responses"] = new JsonObject
                    {
                        [operation.ResultType == typeof(void) ? "204" : "200"] = ok,
                        ["default"] = new JsonObject
                        {
                            ["description"] = "the failure: ErrorId, kind, message, target",
                            ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = Schema(typeof(ApiError)) } },
                        },
                    },
                },
            };
        }
        return new JsonObject
        {
            ["openapi"] = "3.1.0",
            ["info"] = new JsonObject { ["title"] = "PachPS server API", ["version"] = version },
            ["components"] = new JsonObject
            {
                ["securitySchemes"] = new JsonObject { ["bearer"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer" } },
            },
            ["security"] = new JsonArray(new JsonObject { ["bearer"] = new JsonArray() }),
            ["paths"] = paths,
        };
    }

    private static JsonNode Schema(Type type) => Wire.Options.GetJsonSchemaAsNode(type);
}
