package destination_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/reference"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/types"
)

// dtOpen opens an oci-layout destination on dir (created if missing)
// through the public reference API, as copy.Image does.
func dtOpen(t *testing.T, dir, name string) types.ImageDestination {
	t.Helper()
	ref, err := reference.NewReference(dir, name)
	if err != nil {
		t.Fatal(err)
	}
	dest, err := ref.NewImageDestination(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dest.Close() })
	return dest
}

// dtTemps lists our temp files left anywhere under dir.
func dtTemps(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".ocilayout-tmp-") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dtBrokenStream yields some bytes and then fails, as a network stream can.
type dtBrokenStream struct{ left int }

func (b *dtBrokenStream) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, errors.New("connection reset")
	}
	n := min(len(p), b.left)
	b.left -= n
	return n, nil
}

// TestPutBlobFailureLeavesNothing: whatever makes a blob write fail, the
// blob is not stored and no temp file remains.
func TestPutBlobFailureLeavesNothing(t *testing.T) {
	data := bytes.Repeat([]byte("layer"), 10000)
	d := digest.FromBytes(data)
	for _, tc := range []struct {
		name    string
		stream  io.Reader
		info    types.BlobInfo
		wantErr string
	}{
		{"stream error", &dtBrokenStream{left: 20000}, types.BlobInfo{Digest: d, Size: -1}, "connection reset"},
		{"digest mismatch", bytes.NewReader(data[1:]), types.BlobInfo{Digest: d, Size: -1}, d.String()},
		{"size mismatch", bytes.NewReader(data), types.BlobInfo{Digest: d, Size: int64(len(data)) - 1}, "expected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "dst")
			dest := dtOpen(t, dir, "app")
			_, err := dest.PutBlob(context.Background(), tc.stream, tc.info, nil, false)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("PutBlob = %v; want an error containing %q", err, tc.wantErr)
			}
			if left := dtTemps(t, dir); len(left) > 0 {
				t.Errorf("temp files left after a failed PutBlob: %v", left)
			}
			if _, err := os.Stat(filepath.Join(dir, "blobs", "sha256", d.Encoded())); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("blob stored despite the failure (stat: %v)", err)
			}
		})
	}
}

// TestTryReusingBlob: present with the right size is reused; absent or
// with another size is not.
func TestTryReusingBlob(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dst")
	dest := dtOpen(t, dir, "app")
	ctx := context.Background()
	data := []byte("a blob")
	info, err := dest.PutBlob(ctx, bytes.NewReader(data), types.BlobInfo{Digest: digest.FromBytes(data), Size: int64(len(data))}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		info types.BlobInfo
		want bool
	}{
		{"present", info, true},
		{"present, size unknown", types.BlobInfo{Digest: info.Digest, Size: -1}, true},
		{"present, other size", types.BlobInfo{Digest: info.Digest, Size: info.Size + 1}, false},
		{"absent", types.BlobInfo{Digest: digest.FromString("absent"), Size: 6}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, got, err := dest.TryReusingBlob(ctx, tc.info, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.want || ok && (got.Digest != info.Digest || got.Size != info.Size) {
				t.Errorf("TryReusingBlob = %v, %+v; want %v", ok, got, tc.want)
			}
		})
	}
}

// TestPutManifestRefusesDockerSchema2: the destination asks copy.Image for
// a conversion rather than storing a Docker manifest.
func TestPutManifestRefusesDockerSchema2(t *testing.T) {
	dest := dtOpen(t, filepath.Join(t.TempDir(), "dst"), "app")
	m := []byte(`{"schemaVersion":2,"mediaType":"` + manifest.DockerV2Schema2MediaType + `","config":{},"layers":[]}`)
	err := dest.PutManifest(context.Background(), m, nil)
	var rejected types.ManifestTypeRejectedError
	if !errors.As(err, &rejected) {
		t.Fatalf("PutManifest of Docker schema2 = %v; want a ManifestTypeRejectedError", err)
	}
}

// TestCommitWithoutManifest fails and leaves index.json empty.
func TestCommitWithoutManifest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dst")
	dest := dtOpen(t, dir, "app")
	if err := dest.Commit(context.Background(), nil); err == nil {
		t.Fatal("Commit without a manifest succeeded")
	}
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if entries, err := layouttest.List(l, context.Background()); err != nil || len(entries) != 0 {
		t.Errorf("index after a failed commit: %v, %v", entries, err)
	}
}

// TestCommitRecordsManifest: PutManifest then Commit adds the tagged entry
// with its platform (read from the config), and nothing before Commit.
func TestCommitRecordsManifest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dst")
	dest := dtOpen(t, dir, "app")
	ctx := context.Background()
	cfg := []byte(`{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	ci, err := dest.PutBlob(ctx, bytes.NewReader(cfg), types.BlobInfo{Digest: digest.FromBytes(cfg), Size: int64(len(cfg))}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	m := []byte(`{"schemaVersion":2,"mediaType":"` + imgspecv1.MediaTypeImageManifest + `","config":{"mediaType":"` + imgspecv1.MediaTypeImageConfig + `","digest":"` + ci.Digest.String() + `","size":` + strconv.FormatInt(ci.Size, 10) + `},"layers":[]}`)
	if err := dest.PutManifest(ctx, m, nil); err != nil {
		t.Fatal(err)
	}
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if entries, _ := layouttest.List(l, ctx); len(entries) != 0 {
		t.Fatalf("index.json changed before Commit: %+v", entries)
	}
	if err := dest.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	entries, err := layouttest.List(l, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name != "app" || entries[0].Digest != digest.FromBytes(m) {
		t.Fatalf("index after Commit: %+v", entries)
	}
	if p := entries[0].Platform; p == nil || p.Architecture != "arm64" || p.OS != "linux" {
		t.Errorf("platform in index.json = %+v, want linux/arm64", p)
	}
}
