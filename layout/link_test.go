package layout

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/opencontainers/go-digest"
)

func TestLinkBlobFrom(t *testing.T) {
	ctx := context.Background()
	content := bytes.Repeat([]byte("layer bytes "), 20000)
	d := digest.FromBytes(content)
	tests := []struct {
		name       string
		corrupt    bool // overwrite the source blob with other bytes of the same size
		size       int64
		verify     bool
		wantLinked bool
		wantErr    bool
	}{
		{name: "verified", size: int64(len(content)), verify: true, wantLinked: true},
		{name: "trusted", size: int64(len(content)), wantLinked: true},
		{name: "size mismatch streams instead", size: 5, verify: true},
		{name: "corrupt source refused when verified", corrupt: true, size: int64(len(content)), verify: true, wantErr: true},
		{name: "corrupt source linked when trusted", corrupt: true, size: int64(len(content)), wantLinked: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, srcDir := gtCreate(t)
			if _, err := src.PutBlobBytes(ctx, content); err != nil {
				t.Fatal(err)
			}
			srcPath := filepath.Join(srcDir, "blobs", "sha256", d.Encoded())
			if tc.corrupt {
				bad := bytes.Clone(content)
				bad[100] ^= 1
				gtWriteRaw(t, srcPath, bad)
			}
			dst, dstDir := gtCreate(t)
			method, err := dst.LinkBlobFrom(ctx, filepath.Join(srcDir, "blobs"), d, tc.size, tc.verify)
			var integrity *IntegrityError
			if tc.wantErr != (err != nil) || (err != nil && !errors.As(err, &integrity)) {
				t.Fatalf("LinkBlobFrom: err = %v, want IntegrityError: %v", err, tc.wantErr)
			}
			dstPath := filepath.Join(dstDir, "blobs", "sha256", d.Encoded())
			_, statErr := os.Stat(dstPath)
			if linked := method != ""; linked != tc.wantLinked || linked != (statErr == nil) {
				t.Fatalf("method %q, stat of destination blob: %v; want linked %v", method, statErr, tc.wantLinked)
			}
			if left := gtTemps(t, dstDir); len(left) > 0 {
				t.Fatalf("temp files left behind: %v", left)
			}
			if method == "" {
				return
			}
			si, _ := os.Stat(srcPath)
			di, _ := os.Stat(dstPath)
			switch method {
			case LinkHardlink:
				if !os.SameFile(si, di) {
					t.Fatal("hard link is not the same file")
				}
			default:
				a, _ := os.ReadFile(srcPath)
				b, _ := os.ReadFile(dstPath)
				if !bytes.Equal(a, b) || di.Mode().Perm() != 0o444 {
					t.Fatalf("%s: content equal %v, mode %v", method, bytes.Equal(a, b), di.Mode())
				}
			}
		})
	}
}

func TestLinkBlobFromMissingSource(t *testing.T) {
	dst, _ := gtCreate(t)
	d := digest.FromString("absent")
	for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "nonexistent")} {
		method, err := dst.LinkBlobFrom(context.Background(), dir, d, 10, true)
		if method != "" || err != nil {
			t.Fatalf("%s: method %q, err %v; want nothing", dir, method, err)
		}
	}
	if _, err := dst.LinkBlobFrom(context.Background(), t.TempDir(), "sha256:../../x", 1, true); err == nil {
		t.Fatal("malformed digest accepted")
	}
}
