namespace Lineup.Sip.Stack;

/// <summary>
/// A Replaces header (RFC 3891 §6.1): <c>callid;to-tag=…;from-tag=…[;early-only]</c>, naming a dialog. It reaches Lineup
/// inside a REFER's Refer-To URI (<c>?Replaces=…</c>, already unescaped by <see cref="SipUri"/>) when a phone asks for an
/// attended transfer (RFC 5589 §7).
/// </summary>
public sealed record SipReplaces(string CallId, string ToTag, string FromTag, bool EarlyOnly)
{
    /// <summary>Parses the header's value; null when the Call-ID, to-tag or from-tag is missing or empty.</summary>
    public static SipReplaces? Parse(string value)
    {
        var parts = value.Split(';');
        var callId = parts[0].Trim();
        string? to = null, from = null;
        var earlyOnly = false;
        foreach (var part in parts.AsSpan(1))
        {
            var eq = part.IndexOf('=');
            var name = (eq < 0 ? part : part[..eq]).Trim();
            var text = eq < 0 ? "" : part[(eq + 1)..].Trim();
            if (name.Equals("to-tag", StringComparison.OrdinalIgnoreCase)) to = text;
            else if (name.Equals("from-tag", StringComparison.OrdinalIgnoreCase)) from = text;
            else if (name.Equals("early-only", StringComparison.OrdinalIgnoreCase)) earlyOnly = true;
        }
        return callId.Length > 0 && !string.IsNullOrEmpty(to) && !string.IsNullOrEmpty(from) ? new SipReplaces(callId, to, from, earlyOnly) : null;
    }
}
