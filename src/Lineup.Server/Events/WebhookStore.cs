using System.Text.Json;
using Lineup.Server.Storage;

namespace Lineup.Server.Events;

/// <summary>A subscription's stored form: the whole <see cref="Webhook"/> as JSON, read leniently so that a newer
/// field written by a later version does not stop an older one from starting.</summary>
public static class WebhookStore
{
    private static readonly JsonSerializerOptions s_options = Records.RecordJson.Options;

    public static Webhook Parse(WebhookRow row) =>
        (JsonSerializer.Deserialize<Webhook>(row.Body, s_options) ?? new Webhook()) with { Id = row.Id, TenantId = row.TenantId, CreatedAt = row.CreatedAt };

    public static WebhookRow ToRow(Webhook hook) => new(hook.Id, hook.TenantId, JsonSerializer.Serialize(hook, s_options), hook.CreatedAt);
}
