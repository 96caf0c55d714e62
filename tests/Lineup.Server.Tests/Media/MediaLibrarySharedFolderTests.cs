using Lineup.Server.Telephony;

namespace Lineup.Server.Tests.Media;

/// <summary>Two nodes of a cluster on one shared <c>Sip:MediaPath</c> (docs/cluster.md, "Telephony"): what one adds or
/// deletes, the other finds at its next lookup, even after it had read the tenant's media, and ids never repeat.</summary>
public sealed class MediaLibrarySharedFolderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lineup-media-shared-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void What_another_node_adds_or_deletes_in_the_shared_folder_is_seen_at_the_next_lookup()
    {
        var options = new TelephonyOptions { MediaPath = _dir };
        var owner = new MediaLibrary(options, TimeProvider.System);
        var other = new MediaLibrary(options, TimeProvider.System);
        Assert.Empty(other.List(7)); // read (no folder yet) before anything was uploaded

        var music = owner.Add(7, "music", null, TestWav.Tone(1000, 1)).Value!;
        Assert.NotNull(other.Resolve(7, "music", null));
        var hello = owner.Add(7, "hello", "de", TestWav.Tone(800, 1)).Value!; // at once: the same tick of the folder's time, maybe
        Assert.Equal(hello.Id, other.Find(7, "hello", "de-AT")?.Id);
        Assert.Equal([music.Id, hello.Id], other.List(7).Select(i => i.Id));

        Assert.True(owner.Delete(7, music.Id));
        Assert.Null(other.Resolve(7, "music", null));
        // The other node uploads next (the tenant moved there): a new id, not one the first node gave.
        var again = other.Add(7, "music", null, TestWav.Tone(1200, 1)).Value!;
        Assert.True(again.Id > hello.Id, $"id {again.Id} after {hello.Id}");
        Assert.Equal([hello.Id, again.Id], owner.List(7).Select(i => i.Id));
    }
}
