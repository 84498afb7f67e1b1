package commit_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/commit"
	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/transports/alltransports"
)

// TestCommitImage commits a container whose layer a test changed through
// a real mount into an oci-layout: layout and checks the result digest by
// digest: the image layers keep their DiffIDs, the new layer hashes to
// the store's diff of the container layer and holds the change (with a
// whiteout for the removed file), every layer blob decompresses to its
// DiffID, and the config carries the history entry and the changes on
// top of the base config.
func TestCommitImage(t *testing.T) {
	store := fixture.Store(t)
	base := storeBaseImage(t, store)
	_, wantDiff := modifiedContainer(t, store, base)
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tmp := t.TempDir()

	ref, err := commit.NewReference(store, "ctr",
		commit.WithAuthor("A. Author <a@example.com>"), commit.WithMessage("snapshot"), commit.WithCreated(created),
		commit.WithTempDir(tmp),
		commit.WithChanges(`CMD ["/usr/bin/app", "--serve"]`, "ENTRYPOINT /bin/entry", "ENV KEEP=changed NEW=\"two words\"",
			"LABEL replaced=yes added=1", "WORKDIR /srv", "WORKDIR data", "USER 1000:1000", "EXPOSE 8080 53/udp"))
	if err != nil {
		t.Fatalf("NewReference: %v", err)
	}
	out := filepath.Join(t.TempDir(), "layout")
	dest, err := alltransports.ParseImageName("oci-layout:" + out + ":committed")
	if err != nil {
		t.Fatal(err)
	}
	copyImage(t, ref, dest, nil)

	m, cfg := layoutImage(t, out, "committed")
	wantIDs := digestStrings(base.diffIDs)
	if got := digestStrings(cfg.RootFS.DiffIDs); len(got) != len(wantIDs)+1 || !reflect.DeepEqual(got[:len(wantIDs)], wantIDs) {
		t.Fatalf("DiffIDs %v, want the base's %v and one more", got, wantIDs)
	}
	if len(m.Layers) != len(cfg.RootFS.DiffIDs) {
		t.Fatalf("%d layers for %d DiffIDs", len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	var topData []byte
	for i, l := range m.Layers {
		topData = uncompressed(t, readBlob(t, out, l.Digest))
		if got := digest.FromBytes(topData); got != cfg.RootFS.DiffIDs[i] {
			t.Errorf("layer %d (%s) decompresses to %s, want DiffID %s", i, l.Digest, got, cfg.RootFS.DiffIDs[i])
		}
	}
	got, top := tarEntries(t, topData)
	if !reflect.DeepEqual(got, wantDiff) {
		t.Errorf("the new layer holds\n%s\nwant the store's diff of the container\n%s", strings.Join(got, "\n"), strings.Join(wantDiff, "\n"))
	}
	if top["etc/committed"] != "written in the container" {
		t.Errorf("the new layer holds %v, want etc/committed with the file written in the container", top)
	}
	if _, ok := top["etc/.wh.remove-me"]; !ok {
		t.Errorf("the new layer holds %v, want the whiteout etc/.wh.remove-me", top)
	}
	if _, ok := top["usr/bin/app"]; ok {
		t.Errorf("the new layer repeats the unchanged usr/bin/app: %v", top)
	}

	if len(cfg.History) != base.history+1 {
		t.Fatalf("%d history entries, want %d", len(cfg.History), base.history+1)
	}
	h := cfg.History[len(cfg.History)-1]
	if h.Author != "A. Author <a@example.com>" || h.Comment != "snapshot" || h.Created == nil || !h.Created.Equal(created) || h.EmptyLayer {
		t.Errorf("new history entry %+v, want author, message and created time of the commit", h)
	}
	if cfg.Author != "A. Author <a@example.com>" || cfg.Created == nil || !cfg.Created.Equal(created) {
		t.Errorf("config author %q created %v", cfg.Author, cfg.Created)
	}
	want := imgspecv1.ImageConfig{
		Env:          []string{"PATH=/usr/bin", "KEEP=changed", "NEW=two words"},
		Cmd:          []string{"/usr/bin/app", "--serve"},
		Entrypoint:   []string{"/bin/sh", "-c", "/bin/entry"},
		Labels:       map[string]string{"base": "yes", "replaced": "yes", "added": "1"},
		WorkingDir:   "/srv/data",
		User:         "1000:1000",
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "53/udp": {}},
	}
	if !reflect.DeepEqual(cfg.Config, want) {
		t.Errorf("config\n%+v\nwant\n%+v", cfg.Config, want)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("platform %s/%s, want the base's linux/amd64", cfg.OS, cfg.Architecture)
	}
	if entries, _ := filepath.Glob(filepath.Join(tmp, "*")); len(entries) != 0 {
		t.Errorf("the snapshot was not removed after the copy: %v", entries)
	}
}

// TestCommitDockerFormat: WithFormat(v2s2) gives a Docker schema2
// manifest with uncompressed Docker layer types, kept as is by dir:.
func TestCommitDockerFormat(t *testing.T) {
	store := fixture.Store(t)
	base := storeBaseImage(t, store)
	modifiedContainer(t, store, base)
	ref, err := commit.NewReference(store, "ctr", commit.WithFormat(manifest.DockerV2Schema2MediaType))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "dir")
	dest, err := alltransports.ParseImageName("dir:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	raw := copyImage(t, ref, dest, &copy.Options{PreserveDigests: true})
	m, err := manifest.Schema2FromManifest(raw)
	if err != nil {
		t.Fatalf("the committed manifest is no Docker schema2 manifest: %v\n%s", err, raw)
	}
	if m.MediaType != manifest.DockerV2Schema2MediaType || m.ConfigDescriptor.MediaType != manifest.DockerV2Schema2ConfigMediaType {
		t.Errorf("manifest types %s / %s", m.MediaType, m.ConfigDescriptor.MediaType)
	}
	last := m.LayersDescriptors[len(m.LayersDescriptors)-1]
	if last.MediaType != manifest.DockerV2SchemaLayerMediaTypeUncompressed {
		t.Errorf("new layer %s is %s, want uncompressed", last.Digest, last.MediaType)
	}
	var cfg imgspecv1.Image
	if err := json.Unmarshal(readBlob(t, dir, m.ConfigDescriptor.Digest), &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.RootFS.DiffIDs) != len(m.LayersDescriptors) || cfg.RootFS.DiffIDs[len(cfg.RootFS.DiffIDs)-1] != last.Digest {
		t.Errorf("config DiffIDs %v do not end with the uncompressed new layer %s", cfg.RootFS.DiffIDs, last.Digest)
	}
}

// TestCommitMountedRefused: a mounted container (as a running one is) is
// refused with an error saying so; once unmounted it commits.
func TestCommitMountedRefused(t *testing.T) {
	store := fixture.Store(t)
	base := storeBaseImage(t, store)
	c, _ := modifiedContainer(t, store, base)
	if _, err := store.Mount(c.ID, ""); err != nil {
		t.Fatal(err)
	}
	ref, err := commit.NewReference(store, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ref.NewImageSource(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "is mounted") || !strings.Contains(err.Error(), `"ctr"`) {
		t.Fatalf("NewImageSource of a mounted container: %v, want an error saying ctr is mounted", err)
	}
	if _, err := store.Unmount(c.ID, false); err != nil {
		t.Fatal(err)
	}
	src, err := ref.NewImageSource(context.Background(), nil)
	if err != nil {
		t.Fatalf("NewImageSource after unmounting: %v", err)
	}
	src.Close()
}

// TestCommitReferenceErrors: unknown containers and bad changes fail at
// NewReference; the reference cannot be written to or deleted.
func TestCommitReferenceErrors(t *testing.T) {
	store := fixture.Store(t)
	base := storeBaseImage(t, store)
	modifiedContainer(t, store, base)
	if _, err := commit.NewReference(store, "nosuch"); err == nil || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Errorf("NewReference(nosuch): %v", err)
	}
	if _, err := commit.NewReference(store, "ctr", commit.WithChanges("FROM scratch")); err == nil || !strings.Contains(err.Error(), "FROM scratch") {
		t.Errorf("NewReference with FROM: %v", err)
	}
	ref, err := commit.NewReference(store, "ctr")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ref.NewImageDestination(context.Background(), nil); err == nil {
		t.Error("NewImageDestination succeeded")
	}
	if err := ref.DeleteImage(context.Background(), nil); err == nil {
		t.Error("DeleteImage succeeded")
	}
	again, err := commit.Transport.ParseReference(ref.StringWithinTransport())
	if err != nil || again.StringWithinTransport() != ref.StringWithinTransport() {
		t.Errorf("ParseReference(%s) = %v, %v", ref.StringWithinTransport(), again, err)
	}
	for _, scope := range ref.PolicyConfigurationNamespaces() {
		if err := commit.Transport.ValidatePolicyConfigurationScope(scope); err != nil {
			t.Errorf("own namespace %s refused: %v", scope, err)
		}
	}
	if err := commit.Transport.ValidatePolicyConfigurationScope(ref.PolicyConfigurationIdentity()); err != nil {
		t.Errorf("own identity refused: %v", err)
	}
}

func digestStrings[T ~string](ds []T) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = string(d)
	}
	return out
}
