package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/layout"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	istorage "go.podman.io/image/v5/storage"
	"go.podman.io/image/v5/transports/alltransports"
	"go.podman.io/image/v5/types"
	cstorage "go.podman.io/storage"
	"go.podman.io/storage/pkg/reexec"
)

// containers/storage applies layers in a re-executed copy of the running
// binary (here, the test binary); reexec.Init serves that child and must
// run before the tests. An init function does it without a TestMain.
func init() {
	if reexec.Init() {
		os.Exit(0)
	}
}

// ioStore opens a real containers/storage store with the vfs driver in a
// temp root: the store podman and buildah use, minus the kernel features
// (overlay mounts) a test machine may lack. The test runs as root, as
// those tools do without a user namespace.
func ioStore(t *testing.T) (cstorage.Store, string) {
	t.Helper()
	store := fixture.Store(t)
	// The same store spelled for the CLI, which opens it in its own process.
	return store, fmt.Sprintf("[vfs@%s+%s]", store.GraphRoot(), store.RunRoot())
}

func ioStoreRef(t *testing.T, store cstorage.Store, name string) types.ImageReference {
	t.Helper()
	ref, err := istorage.Transport.ParseStoreReference(store, name)
	ioMust(t, err, "containers-storage reference %s", name)
	return ref
}

// TestContainersStorageRoundTrip copies two images that share two of
// their layers into a vfs store and back out, in-process and with the
// CLI: the store keeps the shared layers once, and the layouts that come
// back hold the same configs (same image IDs) and layer contents.
func TestContainersStorageRoundTrip(t *testing.T) {
	store, spec := ioStore(t)
	tmp := t.TempDir()
	src, out, outCLI := filepath.Join(tmp, "src"), filepath.Join(tmp, "out"), filepath.Join(tmp, "out-cli")
	base := []ioLayer{
		{files: map[string]string{"etc/os-release": "ID=storage\n"}},
		{files: map[string]string{"usr/lib/libshared.so": "shared library"}},
	}
	a := ioWriteImage(t, src, "a", "amd64", base)
	b := ioWriteImage(t, src, "b", "amd64", append(append([]ioLayer{}, base...), ioLayer{files: map[string]string{"app/bin": "b only"}}))

	for _, name := range []string{"a", "b"} {
		srcRef, err := alltransports.ParseImageName("oci-layout:" + src + ":" + name)
		ioMust(t, err, "parsing")
		if _, err := ioCopyRefs(t, srcRef, ioStoreRef(t, store, "localhost/app:"+name), nil); err != nil {
			t.Fatalf("copy.Image oci-layout:%s:%s → containers-storage:localhost/app:%s: %v", src, name, name, err)
		}
	}
	layers, err := store.Layers()
	ioMust(t, err, "listing the store's layers")
	if len(layers) != 3 {
		t.Errorf("store holds %d layers for images sharing 2 of 2+3 layers, want 3", len(layers))
	}
	images, err := store.Images()
	ioMust(t, err, "listing the store's images")
	if len(images) != 2 {
		t.Fatalf("store holds %d images, want 2", len(images))
	}

	// In-process for a, through the CLI (its own process opening the same
	// store by its [driver@graph+run] spelling) for b.
	dstRef, err := alltransports.ParseImageName("oci-layout:" + out + ":a")
	ioMust(t, err, "parsing")
	if _, err := ioCopyRefs(t, ioStoreRef(t, store, "localhost/app:a"), dstRef, nil); err != nil {
		t.Fatalf("copy.Image containers-storage:localhost/app:a → oci-layout:%s:a: %v", out, err)
	}
	ioCopyCLI(t, "containers-storage:"+spec+"localhost/app:b", "oci-layout:"+outCLI+":b")

	// The CLI writes into the store too (its own process, the store
	// shared through containers/storage's locks), and reuses every layer.
	ioCopyCLI(t, "oci-layout:"+src+":b", "containers-storage:"+spec+"localhost/cli:b")
	if _, err := store.Image("localhost/cli:b"); err != nil {
		t.Errorf("the store has no localhost/cli:b after the CLI copied it in: %v", err)
	}
	layers, err = store.Layers()
	ioMust(t, err, "listing the store's layers")
	if len(layers) != 3 {
		t.Errorf("store holds %d layers after the CLI stored b again, want 3 (every layer reused)", len(layers))
	}

	for _, tc := range []struct {
		dir, name string
		want      imgspecv1.Descriptor
	}{{out, "a", a}, {outCLI, "b", b}} {
		ioVerifyCLI(t, tc.dir)
		_, wantMan := ioLayoutManifest(t, src, tc.want.Digest.String())
		_, gotMan := ioLayoutManifest(t, tc.dir, tc.name)
		if gotMan.Config.Digest != wantMan.Config.Digest {
			t.Errorf("%s: config (image ID) %s after the store, want %s", tc.name, gotMan.Config.Digest, wantMan.Config.Digest)
		}
		if len(gotMan.Layers) != len(wantMan.Layers) {
			t.Fatalf("%s: %d layers after the store, want %d", tc.name, len(gotMan.Layers), len(wantMan.Layers))
		}
		// The store may recompress, so compare what the layers hold.
		for i := range wantMan.Layers {
			if g, w := ioLayerFiles(t, tc.dir, gotMan.Layers[i]), ioLayerFiles(t, src, wantMan.Layers[i]); fmt.Sprint(g) != fmt.Sprint(w) {
				t.Errorf("%s layer %d holds %v after the store, want %v", tc.name, i, g, w)
			}
		}
	}
}

// ioLayoutManifest reads the manifest a selector (NAME or sha256:HEX)
// names in an oci-layout: layout through the layout engine.
func ioLayoutManifest(t *testing.T, dir, sel string) (imgspecv1.Descriptor, *imgspecv1.Manifest) {
	t.Helper()
	ctx := context.Background()
	l, err := layout.Open(dir)
	ioMust(t, err, "opening %s", dir)
	defer l.Close()
	idx, err := l.Index(ctx)
	ioMust(t, err, "reading %s/index.json", dir)
	for _, d := range idx.Manifests {
		if d.Annotations[imgspecv1.AnnotationRefName] == sel || d.Digest.String() == sel {
			m, err := layouttest.ReadManifest(l, ctx, d)
			ioMust(t, err, "reading manifest %s in %s", d.Digest, dir)
			return d, m
		}
	}
	// Not top level: an untagged instance referred to by an index.
	for _, d := range idx.Manifests {
		if layouttest.IsIndex(d.MediaType) {
			child, err := layouttest.ReadIndex(l, ctx, d)
			ioMust(t, err, "reading index %s in %s", d.Digest, dir)
			for _, c := range child.Manifests {
				if c.Digest.String() == sel {
					m, err := layouttest.ReadManifest(l, ctx, c)
					ioMust(t, err, "reading manifest %s in %s", c.Digest, dir)
					return c, m
				}
			}
		}
	}
	t.Fatalf("%s has no manifest %q", dir, sel)
	return imgspecv1.Descriptor{}, nil
}
