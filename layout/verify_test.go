package layout

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestVerify(t *testing.T) {
	type fixture struct {
		l     *Layout
		dir   string
		img   mtImage // tagged "app": manifest, config, layer-1, layer-2
		multi mtImage // tagged "multi": index, manifest, config, layer
	}
	layer := func(f fixture) digest.Digest { return f.img.blobs[2] }
	blobFile := func(f fixture, d digest.Digest) string {
		return filepath.Join(f.dir, "blobs", d.Algorithm().String(), d.Encoded())
	}
	for _, tc := range []struct {
		name   string
		break_ func(t *testing.T, f fixture)
		kind   string
		what   func(f fixture) string // digest or path the problem names
	}{{
		name:   "sound",
		break_: func(t *testing.T, f fixture) {},
	}, {
		name: "flipped byte in a layer",
		break_: func(t *testing.T, f fixture) {
			data, _ := os.ReadFile(blobFile(f, layer(f)))
			data[3] ^= 0x01
			mtCorrupt(t, f.dir, layer(f), data)
		},
		kind: problemDigest, what: func(f fixture) string { return layer(f).String() },
	}, {
		name: "flipped byte in a nested manifest",
		break_: func(t *testing.T, f fixture) {
			d := f.multi.blobs[1]
			data, _ := os.ReadFile(blobFile(f, d))
			data[len(data)-2] ^= 0x01
			mtCorrupt(t, f.dir, d, data)
		},
		kind: problemDigest, what: func(f fixture) string { return f.multi.blobs[1].String() },
	}, {
		name: "truncated blob",
		break_: func(t *testing.T, f fixture) {
			data, _ := os.ReadFile(blobFile(f, layer(f)))
			mtCorrupt(t, f.dir, layer(f), data[:len(data)-1])
		},
		kind: problemSize, what: func(f fixture) string { return layer(f).String() },
	}, {
		name:   "missing blob",
		break_: func(t *testing.T, f fixture) { mtRemove(t, blobFile(f, f.img.blobs[1])) },
		kind:   problemMissing, what: func(f fixture) string { return f.img.blobs[1].String() },
	}, {
		name:   "missing manifest",
		break_: func(t *testing.T, f fixture) { mtRemove(t, blobFile(f, f.img.desc.Digest)) },
		kind:   problemMissing, what: func(f fixture) string { return f.img.desc.Digest.String() },
	}, {
		name: "wrong size in a descriptor",
		break_: func(t *testing.T, f fixture) {
			if err := f.l.updateRaw(context.Background(), func(idx *imgspecv1.Index) error {
				idx.Manifests[0].Size++
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		},
		kind: problemSize, what: func(f fixture) string { return f.img.desc.Digest.String() },
	}, {
		name: "symlink pointing outside the layout",
		break_: func(t *testing.T, f fixture) {
			p := blobFile(f, layer(f))
			data, _ := os.ReadFile(p)
			outside := filepath.Join(t.TempDir(), "outside")
			if err := os.WriteFile(outside, data, 0o644); err != nil {
				t.Fatal(err)
			}
			mtRemove(t, p)
			if err := os.Symlink(outside, p); err != nil {
				t.Fatal(err)
			}
		},
		kind: problemSymlink, what: func(f fixture) string { return layer(f).String() },
	}, {
		name:   "unreachable blob",
		break_: func(t *testing.T, f fixture) { mtPut(t, f.l, "", []byte("left over")) },
		kind:   problemUnreachable, what: func(f fixture) string { return digest.FromString("left over").String() },
	}, {
		name: "stale temp file",
		break_: func(t *testing.T, f fixture) {
			mtWrite(t, filepath.Join(f.dir, "blobs", tempPrefix+"x"))
		},
		kind: problemTemp, what: func(f fixture) string { return "blobs/" + tempPrefix + "x" },
	}, {
		name:   "file that does not belong",
		break_: func(t *testing.T, f fixture) { mtWrite(t, filepath.Join(f.dir, "blobs", "sha256", "README")) },
		kind:   problemStray, what: func(f fixture) string { return "blobs/sha256/README" },
	}, {
		name:   "oci-layout missing",
		break_: func(t *testing.T, f fixture) { mtRemove(t, filepath.Join(f.dir, "oci-layout")) },
		kind:   problemLayout, what: func(f fixture) string { return "oci-layout" },
	}, {
		name: "index.json unparseable",
		break_: func(t *testing.T, f fixture) {
			if err := os.WriteFile(filepath.Join(f.dir, "index.json"), []byte("{"), 0o644); err != nil {
				t.Fatal(err)
			}
		},
		kind: problemLayout, what: func(f fixture) string { return "index.json" },
	}} {
		t.Run(tc.name, func(t *testing.T) {
			l, dir := mtCreate(t)
			f := fixture{l: l, dir: dir}
			f.img = mtManifest(t, l, imgspecv1.MediaTypeImageManifest, `{"app":1}`, "layer one", "layer two")
			mtTag(t, l, f.img, "app")
			f.multi = mtIndex(t, l, mtManifest(t, l, mediaTypeDockerManifest, `{"arm":1}`, "arm layer"))
			mtTag(t, l, f.multi, "multi")
			mtReferrer(t, l, f.img.desc, "signature")
			tc.break_(t, f)

			r, err := l.Verify(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tc.kind == "" {
				if !(len(r.Problems) == 0) || r.Entries != 3 || r.Blobs != 11 || r.Bytes == 0 {
					t.Errorf("sound layout: %+v", r)
				}
				return
			}
			if len(r.Problems) == 0 {
				t.Fatalf("Verify found nothing wrong")
			}
			want := tc.what(f) + ": " + tc.kind + ": "
			found := false
			for _, p := range r.Problems {
				found = found || strings.HasPrefix(p.String(), want)
			}
			if !found {
				t.Errorf("no problem starting %q among:\n%v", want, r.Problems)
			}
		})
	}
}

func mtRemove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

func mtWrite(t *testing.T, p string) {
	t.Helper()
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}
