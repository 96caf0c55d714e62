using System.Globalization;
using System.Text.Json;
using Lineup.Server.Records;
using Lineup.Sip.Media;

namespace Lineup.Server.Telephony;

/// <summary>
/// The tenants' voicemail messages (docs/sip.md, "Voicemail"), kept where call recordings are:
/// <c>RecordingsPath/&lt;tenant&gt;/voicemail/&lt;id&gt;.wav</c> (8 kHz mono 16-bit) with its description
/// <see cref="VoicemailRecord"/> in <c>&lt;id&gt;.json</c>, written whole by rename. The description is written when the
/// recording starts (incomplete) and again when it ends, so a message is never lost to a crash: at the next start an
/// incomplete one whose audio exists is completed from the audio's length (and e-mailed if it was to be). Ids grow per
/// tenant and are never reused. Like recordings, the files are on this node's disk.
/// </summary>
public sealed class VoicemailBox(TelephonyOptions options, TimeProvider time)
{
    private readonly string _root = options.RecordingsPath;
    private readonly Lock _gate = new();
    private readonly Dictionary<long, TenantBox> _tenants = [];

    private sealed class TenantBox
    {
        public readonly SortedDictionary<long, VoicemailRecord> Items = [];
        public long LastId;
    }

    /// <summary>Starts a message: its description (incomplete) is written, and its audio file created for the recorder.</summary>
    public (VoicemailRecord Record, Stream Audio) Start(long tenant, long queue, long call, string callerNumber, string? callerName,
        string? mailTo, bool attachAudio, bool mailConfigured)
    {
        lock (_gate)
        {
            var box = Load(tenant);
            var id = box.LastId + 1;
            var dir = TenantDir(tenant);
            Directory.CreateDirectory(dir);
            var record = new VoicemailRecord(id, queue, call, callerNumber, callerName, time.GetUtcNow(), 0, Complete: false,
                string.IsNullOrWhiteSpace(mailTo) ? null : mailTo, attachAudio,
                mailConfigured && !string.IsNullOrWhiteSpace(mailTo) ? VoicemailRecord.MailPending : VoicemailRecord.MailNone, 0, null, null);
            var audio = File.Create(Path.Combine(dir, FileName(id, ".wav")));
            try
            {
                Save(tenant, record);
            }
            catch
            {
                audio.Dispose();
                File.Delete(Path.Combine(dir, FileName(id, ".wav")));
                throw;
            }
            box.LastId = id;
            box.Items[id] = record;
            return (record, audio);
        }
    }

    /// <summary>The recording ended and its audio is closed: the message is complete (listed, served, mailed).</summary>
    public VoicemailRecord? Complete(long tenant, long id, double durationSeconds) =>
        Update(tenant, id, r => r with { Complete = true, DurationSeconds = Math.Round(durationSeconds, 3) });

    /// <summary>Records a mail attempt's outcome.</summary>
    public VoicemailRecord? Update(long tenant, long id, Func<VoicemailRecord, VoicemailRecord> change)
    {
        lock (_gate)
        {
            var box = Load(tenant);
            if (!box.Items.TryGetValue(id, out var record)) return null;
            record = change(record);
            Save(tenant, record);
            box.Items[id] = record;
            return record;
        }
    }

    /// <summary>The tenant's complete messages, by id.</summary>
    public IReadOnlyList<VoicemailRecord> List(long tenant)
    {
        lock (_gate) return [.. Load(tenant).Items.Values.Where(r => r.Complete)];
    }

    public VoicemailRecord? Get(long tenant, long id)
    {
        lock (_gate) return Load(tenant).Items.GetValueOrDefault(id) is { Complete: true } r ? r : null;
    }

    /// <summary>The audio of a complete message, or null.</summary>
    public string? AudioPath(long tenant, long id) => Get(tenant, id) != null ? Path.Combine(TenantDir(tenant), FileName(id, ".wav")) : null;

    /// <summary>Removes a message (also one being recorded, when the caller said nothing); false when there is none.</summary>
    public bool Delete(long tenant, long id)
    {
        lock (_gate)
        {
            if (!Load(tenant).Items.Remove(id)) return false;
            var dir = TenantDir(tenant);
            File.Delete(Path.Combine(dir, FileName(id, ".json"))); // first: without it the audio is no message
            File.Delete(Path.Combine(dir, FileName(id, ".wav")));
            return true;
        }
    }

    /// <summary>Every tenant's messages still to be e-mailed (read from disk: after a restart too).</summary>
    public IReadOnlyList<(long Tenant, VoicemailRecord Record)> PendingMail()
    {
        var found = new List<(long, VoicemailRecord)>();
        if (!Directory.Exists(_root)) return found;
        foreach (var dir in Directory.EnumerateDirectories(_root))
        {
            if (!long.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var tenant)) continue;
            if (!Directory.Exists(Path.Combine(dir, "voicemail"))) continue;
            lock (_gate)
                found.AddRange(Load(tenant).Items.Values.Where(r => r.Complete && r.MailState == VoicemailRecord.MailPending).Select(r => (tenant, r)));
        }
        return found;
    }

    private void Save(long tenant, VoicemailRecord record)
    {
        var json = Path.Combine(TenantDir(tenant), FileName(record.Id, ".json"));
        File.WriteAllText(json + ".tmp", record.Json());
        File.Move(json + ".tmp", json, overwrite: true);
    }

    private static string FileName(long id, string extension) => id.ToString(CultureInfo.InvariantCulture) + extension;

    private string TenantDir(long tenant) => Path.Combine(_root, tenant.ToString(CultureInfo.InvariantCulture), "voicemail");

    /// <summary>The tenant's messages, read from disk the first time (under the lock); incomplete ones are completed
    /// from their audio (a crash cut their recording short).</summary>
    private TenantBox Load(long tenant)
    {
        if (_tenants.TryGetValue(tenant, out var box)) return box;
        box = new TenantBox();
        var dir = TenantDir(tenant);
        if (Directory.Exists(dir))
        {
            foreach (var json in Directory.EnumerateFiles(dir, "*.json"))
            {
                VoicemailRecord? record;
                try
                {
                    record = VoicemailRecord.Parse(File.ReadAllText(json));
                }
                catch (JsonException)
                {
                    continue; // not ours: a description is only ever written whole, by rename
                }
                var wav = record != null ? Path.Combine(dir, FileName(record.Id, ".wav")) : null;
                if (record == null || !File.Exists(wav)) continue;
                if (!record.Complete)
                {
                    record = record with { Complete = true, DurationSeconds = Math.Round(RecoveredSeconds(wav), 3) };
                    Save(tenant, record);
                }
                box.Items[record.Id] = record;
                box.LastId = Math.Max(box.LastId, record.Id);
            }
            foreach (var wav in Directory.EnumerateFiles(dir, "*.wav"))
                if (long.TryParse(Path.GetFileNameWithoutExtension(wav), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                    box.LastId = Math.Max(box.LastId, id);
        }
        _tenants[tenant] = box;
        return box;
    }

    /// <summary>The length of audio whose header a crash may have left behind the data (it follows once a second):
    /// counted from the file's size, and the header's sizes set to it.</summary>
    private static double RecoveredSeconds(string wav)
    {
        const int header = 44; // WavWriter's canonical header
        using var file = File.Open(wav, FileMode.Open, FileAccess.ReadWrite);
        var data = Math.Max(0, file.Length - header);
        data -= data % 2;
        if (file.Length >= header)
        {
            Span<byte> size = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(size, (uint)(data + header - 8));
            file.Position = 4;
            file.Write(size);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(size, (uint)data);
            file.Position = header - 4;
            file.Write(size);
        }
        return data / 2.0 / WavFile.SampleRate;
    }
}
