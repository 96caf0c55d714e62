using System.Globalization;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.OpenApi;

namespace Lineup.Server.Api;

/// <summary>OpenAPI metadata for handlers that read their bodies themselves (see <see cref="Body"/>) and return
/// <see cref="IResult"/>, so that the framework cannot infer their request and response types.</summary>
public static class OpenApiMetadata
{
    /// <summary>Documents a JSON request body of <typeparamref name="TBody"/> and the 400 validation problem that
    /// reading it can give.</summary>
    /// <remarks>Unlike <c>Accepts&lt;TBody&gt;("application/json")</c> this names no content type on the endpoint:
    /// a content type there makes routing answer 415 to any other one, whereas <see cref="Body"/> reads every body as
    /// JSON, strictly, and says what is wrong with it. Without a content type the document generator assumes
    /// application/json.</remarks>
    public static RouteHandlerBuilder AcceptsJson<TBody>(this RouteHandlerBuilder builder, bool optional = false) where TBody : class =>
        builder.WithMetadata(new AcceptsMetadata([], typeof(TBody), optional)).ProducesValidationProblem();

    /// <summary>Documents <paramref name="contentType"/> text as another representation of the
    /// <paramref name="statusCode"/> response, which must be declared first (<c>Produces</c> keeps one content type per
    /// status code: the last one declared).</summary>
    public static RouteHandlerBuilder AlsoProducesText(this RouteHandlerBuilder builder, int statusCode, string contentType) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            if (operation.Responses?.GetValueOrDefault(statusCode.ToString(CultureInfo.InvariantCulture))?.Content is { } content)
                content[contentType] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String } };
            return Task.CompletedTask;
        });

    /// <summary>Problem responses (application/problem+json) with each of <paramref name="statusCodes"/>.</summary>
    public static TBuilder ProducesProblems<TBuilder>(this TBuilder builder, params int[] statusCodes) where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statusCodes) builder.ProducesProblem(status);
        return builder;
    }
}
