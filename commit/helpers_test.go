package commit_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/internal/fixture"
	_ "github.com/ocilayout/ocilayout/transport" // registers oci-layout:
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/signature"
	istorage "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
	"go.podman.io/storage/pkg/archive"
	"go.podman.io/storage/pkg/reexec"
)

// containers/storage applies layers in a re-executed copy of the test
// binary; reexec.Init serves that child.
func init() {
	if reexec.Init() {
		os.Exit(0)
	}
}

// tarOf is a tar stream of files (sorted, fixed times), a layer's diff.
func tarOf(t testing.TB, files map[string]string) []byte {
	t.Helper()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), ModTime: time.Unix(1700000000, 0), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// baseImage is what the container was created from.
type baseImage struct {
	id      string // storage image ID (= config digest)
	diffIDs []digest.Digest
	history int
}

// storeBaseImage writes a two-layer image with a config worth changing
// into an oci: layout and copies it into the store as localhost/base:1.
func storeBaseImage(t testing.TB, store storage.Store) baseImage {
	t.Helper()
	dir := t.TempDir()
	layers := [][]byte{
		tarOf(t, map[string]string{"etc/os-release": "ID=base\n", "etc/remove-me": "gone after commit"}),
		tarOf(t, map[string]string{"usr/bin/app": "app v1"}),
	}
	created := time.Unix(1700000000, 0).UTC()
	var descs []imgspecv1.Descriptor
	var diffIDs []digest.Digest
	for _, l := range layers {
		gz := fixture.Gzip(t, l, gzip.DefaultCompression)
		fixture.WriteBlob(t, dir, gz)
		descs = append(descs, fixture.Descriptor(imgspecv1.MediaTypeImageLayerGzip, gz))
		diffIDs = append(diffIDs, digest.FromBytes(l))
	}
	config := fixture.MustJSON(t, imgspecv1.Image{
		Created:  &created,
		Platform: imgspecv1.Platform{OS: "linux", Architecture: "amd64"},
		Config: imgspecv1.ImageConfig{
			Env: []string{"PATH=/usr/bin", "KEEP=base"}, Cmd: []string{"/usr/bin/app"},
			Labels: map[string]string{"base": "yes", "replaced": "no"},
		},
		RootFS:  imgspecv1.RootFS{Type: "layers", DiffIDs: diffIDs},
		History: []imgspecv1.History{{Created: &created, CreatedBy: "layer 1"}, {Created: &created, CreatedBy: "layer 2"}},
	})
	fixture.WriteBlob(t, dir, config)
	man := fixture.MustJSON(t, imgspecv1.Manifest{
		Versioned: imgspec.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageManifest,
		Config: fixture.Descriptor(imgspecv1.MediaTypeImageConfig, config), Layers: descs,
	})
	fixture.WriteBlob(t, dir, man)
	idx := fixture.NewIndex()
	md := fixture.Descriptor(imgspecv1.MediaTypeImageManifest, man)
	md.Annotations = map[string]string{imgspecv1.AnnotationRefName: "base"}
	idx.Manifests = append(idx.Manifests, md)
	fixture.WriteIndex(t, dir, idx)

	dest, err := istorage.Transport.ParseStoreReference(store, "localhost/base:1")
	if err != nil {
		t.Fatal(err)
	}
	copyImage(t, "oci:"+dir+":base", dest, nil)
	img, err := store.Image("localhost/base:1")
	if err != nil {
		t.Fatalf("the store has no localhost/base:1 after copying it in: %v", err)
	}
	return baseImage{id: img.ID, diffIDs: diffIDs, history: 2}
}

// copyImage runs copy.Image from a source (a name, or a reference) to dest.
func copyImage(t testing.TB, src any, dest types.ImageReference, opts *copy.Options) []byte {
	t.Helper()
	srcRef, ok := src.(types.ImageReference)
	if !ok {
		var err error
		if srcRef, err = alltransports.ParseImageName(src.(string)); err != nil {
			t.Fatal(err)
		}
	}
	pc, err := signature.NewPolicyContext(&signature.Policy{Default: []signature.PolicyRequirement{signature.NewPRInsecureAcceptAnything()}})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Destroy()
	if opts == nil {
		opts = &copy.Options{}
	}
	opts.ReportWriter = io.Discard
	man, err := copy.Image(context.Background(), pc, dest, srcRef, opts)
	if err != nil {
		t.Fatalf("copy.Image %s → %s: %v", transportsName(srcRef), transportsName(dest), err)
	}
	return man
}

func transportsName(r types.ImageReference) string {
	return r.Transport().Name() + ":" + r.StringWithinTransport()
}

// modifiedContainer creates container "ctr" from the base image and
// changes its layer through a real mount: one file added, one removed.
// It returns the container and its diff as the store streams it, entry
// by entry (what the committed layer must hold).
func modifiedContainer(t *testing.T, store storage.Store, base baseImage) (*storage.Container, []string) {
	t.Helper()
	c, err := store.CreateContainer("", []string{"ctr"}, base.id, "", "", nil)
	if err != nil {
		t.Fatalf("creating a container from %s: %v", base.id, err)
	}
	mnt, err := store.Mount(c.ID, "")
	if err != nil {
		t.Fatalf("mounting container %s: %v", c.ID, err)
	}
	fixture.WriteFile(t, filepath.Join(mnt, "etc", "committed"), []byte("written in the container"))
	if err := os.Remove(filepath.Join(mnt, "etc", "remove-me")); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Unmount(c.ID, false); err != nil {
		t.Fatalf("unmounting container %s: %v", c.ID, err)
	}
	uncompressed := archive.Uncompressed
	rc, err := store.Diff("", c.LayerID, &storage.DiffOptions{Compression: &uncompressed})
	if err != nil {
		t.Fatalf("diff of layer %s: %v", c.LayerID, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := tarEntries(t, data)
	return c, entries
}

// tarEntries describes each entry of a tar stream (name, type, mode,
// size, content digest and, except for whiteouts, modification time) and
// returns each entry's content by name. containers/storage stamps
// whiteouts with the time of the diff, which is why a commit snapshots
// the diff once instead of diffing per read.
func tarEntries(t *testing.T, data []byte) ([]string, map[string]string) {
	t.Helper()
	var out []string
	files := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		mtime := h.ModTime.String()
		if strings.HasPrefix(filepath.Base(h.Name), ".wh.") {
			mtime = "(diff time)"
		}
		files[h.Name] = string(b)
		out = append(out, fmt.Sprintf("%s type=%c mode=%o size=%d %s mtime=%s", h.Name, h.Typeflag, h.Mode, h.Size, digest.FromBytes(b), mtime))
	}
}

// readBlob reads a blob of the OCI layout (or dir: image) at dir by
// path, independently of the code under test.
func readBlob(t *testing.T, dir string, d digest.Digest) []byte {
	t.Helper()
	path := filepath.Join(dir, "blobs", d.Algorithm().String(), d.Encoded())
	if _, err := os.Stat(filepath.Join(dir, "version")); err == nil { // dir: names blobs by hex alone
		path = filepath.Join(dir, d.Encoded())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading blob %s of %s: %v", d, dir, err)
	}
	if digest.FromBytes(b) != d {
		t.Fatalf("blob %s of %s holds other bytes", d, dir)
	}
	return b
}

// uncompressed gunzips a layer blob when it is gzip (told by its magic).
func uncompressed(t *testing.T, blob []byte) []byte {
	t.Helper()
	if !bytes.HasPrefix(blob, []byte{0x1f, 0x8b}) {
		return blob
	}
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// layoutImage reads the manifest and config of the entry named name.
func layoutImage(t *testing.T, dir, name string) (imgspecv1.Manifest, imgspecv1.Image) {
	t.Helper()
	for _, d := range fixture.ReadIndex(t, dir).Manifests {
		if d.Annotations[imgspecv1.AnnotationRefName] != name {
			continue
		}
		var m imgspecv1.Manifest
		var c imgspecv1.Image
		if err := json.Unmarshal(readBlob(t, dir, d.Digest), &m); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(readBlob(t, dir, m.Config.Digest), &c); err != nil {
			t.Fatal(err)
		}
		return m, c
	}
	t.Fatalf("%s has no entry %q", dir, name)
	return imgspecv1.Manifest{}, imgspecv1.Image{}
}
