using Lineup.Server.Auth;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Lineup.Server.Api;

/// <summary>
/// How the OpenAPI document says who may call what: two security schemes (a bearer token, which is a session's
/// access token or an API key, and an API key in <see cref="ApiKeyHeader"/>), and on every operation that is not
/// anonymous the requirement "either of them", so the browsable page (<c>/docs</c>) has an Authorize button whose
/// token its "Try it out" sends. Each operation's description also names the least role it needs.
/// </summary>
public static class OpenApiSecurity
{
    public const string BearerScheme = "bearer";
    public const string ApiKeyScheme = "api_key";
    public const string ApiKeyHeader = "X-API-Key";

    public static OpenApiOptions AddLineupSecurity(this OpenApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>(StringComparer.Ordinal);
            document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "The access_token of POST /api/v1/auth/login (valid for an hour; renew it with POST /api/v1/auth/refresh), or an API key.",
            };
            document.Components.SecuritySchemes[ApiKeyScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeyHeader,
                Description = "An API key (POST /api/v1/api-keys; shown once when created).",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            if (metadata.OfType<IAllowAnonymous>().Any()) return Task.CompletedTask;
            operation.Security =
            [
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] },
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(ApiKeyScheme, context.Document)] = [] },
            ];
            // Every policy must pass, so the highest role named is the one needed.
            var policies = metadata.OfType<IAuthorizeData>().Select(a => a.Policy).ToHashSet(StringComparer.Ordinal);
            var roles = Enum.GetValues<Role>().Where(r => policies.Contains(LineupAuthentication.Policy(r))).ToList();
            if (roles.Count > 0)
            {
                var needs = $"Needs the {Dto.Snake(roles.Max().ToString())} role or above.";
                operation.Description = string.IsNullOrEmpty(operation.Description) ? needs : operation.Description + "\n\n" + needs;
            }
            return Task.CompletedTask;
        });
        return options;
    }
}
