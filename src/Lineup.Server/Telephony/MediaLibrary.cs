using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Lineup.Server.Application;
using Lineup.Sip.Media;

namespace Lineup.Server.Telephony;

/// <summary>One sound of a tenant's media library, as stored beside its audio.</summary>
public sealed record MediaItem(
    long Id,
    string Name,
    string? Language,
    string SourceFormat,
    long SourceBytes,
    double DurationSeconds,
    DateTimeOffset CreatedAt);

/// <summary>
/// Each tenant's uploaded hold music and prompts (docs/sip.md, "Hold music and prompts"). An upload is converted once
/// (<see cref="AudioImport"/>: any common WAV encoding and rate to 8 kHz mono) and kept as
/// <c>MediaPath/&lt;tenant&gt;/&lt;id&gt;.wav</c> with its description in <c>&lt;id&gt;.json</c>; the description is
/// written last, by rename, so a file half written by a crash is never listed, and a refused upload writes nothing.
/// Calls play an <see cref="AudioClip"/> made from the converted file the first time it is needed (both G.711
/// encodings at once), shared by every call. Queues name media by id (digits) or by name; a name resolves to the item
/// in the queue's language first (<see cref="Resolve"/>), which is how a tenant keeps one prompt set per language.
/// The files are on this node's disk, like recordings: a cluster needs <c>Sip:MediaPath</c> on shared storage. There,
/// another node (the tenant's) may add or delete items: a tenant's folder is read again whenever its modification time
/// is not the one read last, or was less than a second old when it was read (file systems keep coarse times: a second
/// change in the same tick would not show) — a stat per lookup.
/// </summary>
public sealed partial class MediaLibrary
{
    /// <summary>A media item's name, and what a queue's hold music names: letters, digits, '.', '_' and '-', 1 to 64,
    /// starting with a letter or digit (all digits: a media id).</summary>
    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    public static partial Regex NamePattern();

    /// <summary>BCP 47 language tags, loosely (de, en-US, zh-Hans-CN).</summary>
    [GeneratedRegex("^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,3}$")]
    public static partial Regex LanguagePattern();

    /// <summary>What a queue names to hear ringback instead of music.</summary>
    public const string Ringback = "ringback";

    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    private readonly string _root;
    private readonly long _maxBytes;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<long, TenantMedia> _tenants = [];

    public MediaLibrary(TelephonyOptions options, TimeProvider time)
    {
        _root = options.MediaPath;
        _maxBytes = options.MediaMaxBytes;
        _time = time;
    }

    /// <summary>The largest file accepted, in bytes.</summary>
    public long MaxBytes => _maxBytes;

    private sealed class TenantMedia
    {
        public readonly Dictionary<long, MediaItem> Items = [];
        public readonly Dictionary<long, AudioClip> Clips = [];
        public long LastId;
        /// <summary>The folder's modification time when it was read.</summary>
        public DateTime Modified;
        /// <summary>When it was read.</summary>
        public DateTime ReadAt;
    }

    /// <summary>Converts and stores a sound. Invalid: <c>name</c>, <c>language</c> or <c>file</c> (not audio, empty, too
    /// big, an unsupported encoding or rate), nothing stored. Conflict: the name is taken in that language.</summary>
    public Result<MediaItem> Add(long tenant, string? name, string? language, ReadOnlySpan<byte> file)
    {
        if (string.IsNullOrEmpty(name) || !NamePattern().IsMatch(name))
            return AppError.Invalid("name", "name is required: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.");
        if (string.Equals(name, Ringback, StringComparison.OrdinalIgnoreCase))
            return AppError.Invalid("name", "ringback is reserved: a queue whose hold_music is ringback hears ringing.");
        if (language != null && !LanguagePattern().IsMatch(language))
            return AppError.Invalid("language", "language must be a BCP 47 language tag such as de or en-US.");
        if (file.Length == 0) return AppError.Invalid("file", "file is required: a WAV file (PCM, float, μ-law or A-law, 8 to 48 kHz) or an MP3 file.");
        if (file.Length > _maxBytes)
            return AppError.Invalid("file", string.Create(CultureInfo.InvariantCulture, $"file is {file.Length} bytes; the limit is {_maxBytes} (Sip:MediaMaxBytes)."));
        var samples = AudioImport.TryConvert(file, out var source, out var error);
        if (samples == null) return AppError.Invalid("file", $"file is not a sound Lineup plays: {error}.");
        if (samples.Length < WavFile.SampleRate / 10) return AppError.Invalid("file", "file is shorter than 0.1 s.");

        lock (_gate)
        {
            var media = Load(tenant);
            if (media.Items.Values.Any(i => Same(i.Name, name) && Same(i.Language, language)))
                return AppError.Conflict(language == null
                    ? $"A media item named '{name}' exists already: delete it first, or upload this one with a language."
                    : $"A media item named '{name}' in language '{language}' exists already: delete it first.");
            var id = media.LastId + 1;
            var item = new MediaItem(id, name, language, source, file.Length, Math.Round(samples.Length / (double)WavFile.SampleRate, 3), _time.GetUtcNow());
            var dir = TenantDir(tenant);
            Directory.CreateDirectory(dir);
            var wav = Path.Combine(dir, FileName(id, ".wav"));
            var json = Path.Combine(dir, FileName(id, ".json"));
            try
            {
                WavFile.Write(wav + ".tmp", samples);
                File.Move(wav + ".tmp", wav, overwrite: true);
                File.WriteAllText(json + ".tmp", JsonSerializer.Serialize(item, s_json));
                File.Move(json + ".tmp", json, overwrite: true);
            }
            catch
            {
                foreach (var f in new[] { wav + ".tmp", wav, json + ".tmp" }) File.Delete(f);
                throw;
            }
            media.Items[id] = item;
            media.Clips[id] = AudioClip.FromSamples($"media {id} ({name})", samples);
            media.LastId = id;
            media.Modified = Directory.GetLastWriteTimeUtc(dir);
            return item;
        }
    }

    /// <summary>The tenant's media, by id.</summary>
    public IReadOnlyList<MediaItem> List(long tenant)
    {
        lock (_gate) return [.. Load(tenant).Items.Values.OrderBy(i => i.Id)];
    }

    public MediaItem? Get(long tenant, long id)
    {
        lock (_gate) return Load(tenant).Items.GetValueOrDefault(id);
    }

    /// <summary>The converted audio (8 kHz mono 16-bit WAV) of an item, or null.</summary>
    public string? AudioPath(long tenant, long id)
    {
        lock (_gate) return Load(tenant).Items.ContainsKey(id) ? Path.Combine(TenantDir(tenant), FileName(id, ".wav")) : null;
    }

    /// <summary>Removes an item; false when there is none.</summary>
    public bool Delete(long tenant, long id)
    {
        lock (_gate)
        {
            var media = Load(tenant);
            if (!media.Items.Remove(id)) return false;
            media.Clips.Remove(id);
            var dir = TenantDir(tenant);
            File.Delete(Path.Combine(dir, FileName(id, ".json"))); // first: without it the audio is no item
            File.Delete(Path.Combine(dir, FileName(id, ".wav")));
            media.Modified = Directory.GetLastWriteTimeUtc(dir);
            return true;
        }
    }

    /// <summary>
    /// The item a queue's reference names: digits are an id (unless <paramref name="byName"/>: a built-in prompt's name,
    /// such as the number "7", being replaced); a name is the item of that name in <paramref name="language"/> (exactly,
    /// then by primary language: <c>de</c> for <c>de-AT</c> and the reverse), else the one without a language. Null
    /// when nothing matches (the caller falls back to the built-in sound).
    /// </summary>
    public MediaItem? Find(long tenant, string? reference, string? language, bool byName = false)
    {
        if (string.IsNullOrEmpty(reference)) return null;
        lock (_gate) return FindIn(Load(tenant), reference, language, byName);
    }

    private static MediaItem? FindIn(TenantMedia media, string reference, string? language, bool byName)
    {
        if (!byName && reference.All(char.IsAsciiDigit))
            return long.TryParse(reference, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? media.Items.GetValueOrDefault(id) : null;
        MediaItem? exact = null, primary = null, neutral = null;
        foreach (var item in media.Items.Values)
        {
            if (!Same(item.Name, reference)) continue;
            if (item.Language == null) neutral ??= item;
            else if (language != null && Same(item.Language, language)) exact ??= item;
            else if (language != null && Same(Primary(item.Language), Primary(language))) primary ??= item;
        }
        return exact ?? primary ?? neutral;
    }

    /// <summary>The sound a queue's reference names (see <see cref="Find"/>), ready to play; null when none.</summary>
    public AudioClip? Resolve(long tenant, string? reference, string? language, bool byName = false)
    {
        if (string.IsNullOrEmpty(reference)) return null;
        lock (_gate)
        {
            // One look at the folder for both the item and its clip.
            var media = Load(tenant);
            if (FindIn(media, reference, language, byName) is not { } item) return null;
            if (media.Clips.TryGetValue(item.Id, out var clip)) return clip;
            var path = Path.Combine(TenantDir(tenant), FileName(item.Id, ".wav"));
            var samples = File.Exists(path) ? WavFile.TryDecode(File.ReadAllBytes(path), out _) : null;
            if (samples == null) return null;
            clip = AudioClip.FromSamples($"media {item.Id} ({item.Name})", samples);
            media.Clips[item.Id] = clip;
            return clip;
        }
    }

    private static bool Same(string? a, string? b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    private static string Primary(string language) => language.Split('-')[0];

    private static string FileName(long id, string extension) => id.ToString(CultureInfo.InvariantCulture) + extension;

    private string TenantDir(long tenant) => Path.Combine(_root, tenant.ToString(CultureInfo.InvariantCulture));

    /// <summary>The tenant's items, read from disk the first time and again when the folder changed since (under the
    /// lock); the clips of items still there are kept.</summary>
    private TenantMedia Load(long tenant)
    {
        var dir = TenantDir(tenant);
        var modified = Directory.GetLastWriteTimeUtc(dir); // a date of 1601 when there is no folder
        if (_tenants.TryGetValue(tenant, out var known) && known.Modified == modified && known.ReadAt - modified > TimeSpan.FromSeconds(1)) return known;
        var media = new TenantMedia { Modified = modified, ReadAt = _time.GetUtcNow().UtcDateTime };
        if (Directory.Exists(dir))
        {
            foreach (var json in Directory.EnumerateFiles(dir, "*.json"))
            {
                MediaItem? item;
                try
                {
                    item = JsonSerializer.Deserialize<MediaItem>(File.ReadAllText(json), s_json);
                }
                catch (JsonException)
                {
                    continue; // not ours: a description is only ever written whole, by rename
                }
                if (item == null || !File.Exists(Path.Combine(dir, FileName(item.Id, ".wav")))) continue;
                media.Items[item.Id] = item;
                if (known != null && known.Clips.TryGetValue(item.Id, out var clip)) media.Clips[item.Id] = clip;
                media.LastId = Math.Max(media.LastId, item.Id);
            }
            // Ids are never reused, even of deleted items whose audio a crash left behind.
            foreach (var wav in Directory.EnumerateFiles(dir, "*.wav"))
                if (long.TryParse(Path.GetFileNameWithoutExtension(wav), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                    media.LastId = Math.Max(media.LastId, id);
        }
        _tenants[tenant] = media;
        return media;
    }
}
