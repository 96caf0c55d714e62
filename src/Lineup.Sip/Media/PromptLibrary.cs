using System.Globalization;

namespace Lineup.Sip.Media;

/// <summary>The announcements a waiting caller hears (the engine's announcement kinds).</summary>
public enum PromptKind
{
    /// <summary>On entry: the queue's prompt id, else "welcome".</summary>
    Intro,
    /// <summary>Every interval: the queue's prompt id, else "thank-you-for-waiting".</summary>
    Periodic,
    /// <summary>"Your position is n" and the estimated wait when known.</summary>
    Position,
    /// <summary>"Press 3 to be called back."</summary>
    CallbackOffer,
}

/// <summary>
/// Prompts loaded from a directory of WAV files (the file name without ".wav" is the prompt id), composed into
/// announcements. Numbers 0–999 are said from the files 0–20, 30, 40 … 90 and "hundred": 247 is
/// [2, hundred, 40, 7]. Missing files are skipped, so a partial library still says what it can.
/// </summary>
public sealed class PromptLibrary
{
    public const string Welcome = "welcome";
    public const string ThankYouForWaiting = "thank-you-for-waiting";
    public const string YourPositionIs = "your-position-is";
    public const string EstimatedWait = "estimated-wait";
    public const string Minutes = "minutes";
    public const string Minute = "minute";
    public const string LessThanAMinute = "less-than-a-minute";
    public const string Hundred = "hundred";
    public const string CallbackOffer = "callback-offer";
    public const string SurveyQuestion = "survey-question";
    public const string SurveyThanks = "survey-thanks";
    public const string VoicemailGreeting = "voicemail-greeting";
    public const string CallerWaited = "caller-waited";
    public const string Seconds = "seconds";
    public const string Second = "second";

    private readonly Dictionary<string, AudioClip> _clips;

    public PromptLibrary(IEnumerable<AudioClip> clips)
    {
        _clips = new Dictionary<string, AudioClip>(StringComparer.OrdinalIgnoreCase);
        foreach (var c in clips) _clips[c.Name] = c;
    }

    /// <summary>Prompt ids available.</summary>
    public IEnumerable<string> Names => _clips.Keys;

    /// <summary>Loads every *.wav in <paramref name="directory"/>; throws <see cref="InvalidDataException"/> for a
    /// file in an unsupported format (a configuration error to see at startup).</summary>
    public static PromptLibrary Load(string directory) =>
        new(Directory.EnumerateFiles(directory, "*.wav").Order(StringComparer.Ordinal).Select(AudioClip.FromWav));

    /// <summary>The clip of a prompt id, or null.</summary>
    public AudioClip? Find(string name) => _clips.GetValueOrDefault(name);

    /// <summary>The clips of an announcement. <paramref name="promptId"/> overrides the Intro and Periodic prompt
    /// (falling back to the default when that file is missing). <paramref name="overrides"/>, when given, is asked
    /// first for every prompt id (the intro's, "your-position-is", each number…): a tenant's own recording of it in
    /// the queue's language, say; null from it means the file of this library.</summary>
    public IReadOnlyList<AudioClip> Compose(PromptKind kind, int? position = null, int? estimatedWaitSeconds = null, string? promptId = null,
        Func<string, AudioClip?>? overrides = null)
    {
        var list = new List<AudioClip>(8);
        switch (kind)
        {
            case PromptKind.Intro:
            case PromptKind.Periodic:
                if (promptId is not null && overrides?.Invoke(promptId) is { } own) list.Add(own);
                else Add(list, promptId is not null && _clips.ContainsKey(promptId) ? promptId : kind == PromptKind.Intro ? Welcome : ThankYouForWaiting, overrides);
                break;
            case PromptKind.Position:
                if (position is { } p) list.AddRange(Position(p, overrides));
                if (estimatedWaitSeconds is { } w) list.AddRange(Wait(w, overrides));
                break;
            case PromptKind.CallbackOffer:
                Add(list, CallbackOffer, overrides);
                break;
        }
        return list;
    }

    /// <summary>[your-position-is, n].</summary>
    public IReadOnlyList<AudioClip> Position(int position, Func<string, AudioClip?>? overrides = null)
    {
        var list = new List<AudioClip>(5);
        Add(list, YourPositionIs, overrides);
        foreach (var n in NumberNames(position)) Add(list, n, overrides);
        return list;
    }

    /// <summary>[estimated-wait, less-than-a-minute] under a minute, else [estimated-wait, n, minute(s)] with the
    /// wait rounded to the nearest minute.</summary>
    public IReadOnlyList<AudioClip> Wait(int seconds, Func<string, AudioClip?>? overrides = null)
    {
        var list = new List<AudioClip>(6);
        Add(list, EstimatedWait, overrides);
        if (seconds < 60)
        {
            Add(list, LessThanAMinute, overrides);
            return list;
        }
        var minutes = (int)Math.Min(999, Math.Round(seconds / 60.0, MidpointRounding.AwayFromZero));
        foreach (var n in NumberNames(minutes)) Add(list, n, overrides);
        Add(list, minutes == 1 ? Minute : Minutes, overrides);
        return list;
    }

    /// <summary>What an answering agent is told of the caller's wait: [caller-waited, n, second(s)] up to 999 seconds,
    /// else [caller-waited, n, minute(s)] with the wait rounded to the nearest minute (at most 999).</summary>
    public IReadOnlyList<AudioClip> Waited(int seconds, Func<string, AudioClip?>? overrides = null)
    {
        var list = new List<AudioClip>(6);
        Add(list, CallerWaited, overrides);
        seconds = Math.Max(0, seconds);
        var (n, one, many) = seconds <= 999 ? (seconds, Second, Seconds)
            : ((int)Math.Min(999, Math.Round(seconds / 60.0, MidpointRounding.AwayFromZero)), Minute, Minutes);
        foreach (var name in NumberNames(n)) Add(list, name, overrides);
        Add(list, n == 1 ? one : many, overrides);
        return list;
    }

    /// <summary>The prompt ids that say <paramref name="n"/> (clamped to 0–999).</summary>
    public static IReadOnlyList<string> NumberNames(int n)
    {
        n = Math.Clamp(n, 0, 999);
        var names = new List<string>(4);
        var hundreds = n / 100;
        var rest = n % 100;
        if (hundreds > 0)
        {
            names.Add(Name(hundreds));
            names.Add(Hundred);
            if (rest == 0) return names;
        }
        if (rest <= 20)
        {
            names.Add(Name(rest));
        }
        else
        {
            names.Add(Name(rest / 10 * 10));
            if (rest % 10 != 0) names.Add(Name(rest % 10));
        }
        return names;
    }

    private static string Name(int n) => n.ToString(CultureInfo.InvariantCulture);

    private void Add(List<AudioClip> list, string name, Func<string, AudioClip?>? overrides = null)
    {
        if (overrides?.Invoke(name) is { } own) list.Add(own);
        else if (_clips.TryGetValue(name, out var clip)) list.Add(clip);
    }
}
