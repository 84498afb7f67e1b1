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

// TestLinkBlobNeverSharesAForeignInode: a source blob that belongs to
// another user, or that group or others can write, is never hard-linked
// (its owner or writers could change our blob later) and is hashed even
// with trusted links (SizeOnly), so a corrupt one is refused. A source of
// ours that nobody else can write is still hard-linked where the file
// system has no reflink.
func TestLinkBlobNeverSharesAForeignInode(t *testing.T) {
	ctx := context.Background()
	content := bytes.Repeat([]byte("foreign layer "), 10000)
	d := digest.FromBytes(content)
	for _, tc := range []struct {
		name     string
		root     bool // needs root (chown)
		prepare  func(t *testing.T, p string)
		corrupt  bool
		trusted  bool
		wantErr  bool
		mayShare bool
	}{
		{name: "ours, 0444", prepare: func(*testing.T, string) {}, mayShare: true},
		{name: "ours, writable by others", prepare: func(t *testing.T, p string) { must(t, os.Chmod(p, 0o666)) }},
		{name: "ours, writable by others, trusted, corrupt", prepare: func(t *testing.T, p string) { must(t, os.Chmod(p, 0o666)) }, corrupt: true, trusted: true, wantErr: true},
		{name: "another user's", root: true, prepare: func(t *testing.T, p string) { must(t, os.Chown(p, 65534, 65534)) }},
		{name: "another user's, trusted, corrupt", root: true, prepare: func(t *testing.T, p string) { must(t, os.Chown(p, 65534, 65534)) }, corrupt: true, trusted: true, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.root && os.Geteuid() != 0 {
				if os.Getenv("CI") == "true" {
					t.Fatal("needs root to chown to uid 65534, and CI=true")
				}
				t.Skip("needs root to chown to uid 65534")
			}
			src, srcDir := gtCreate(t)
			if _, err := src.putBytes(ctx, content); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(srcDir, "blobs", "sha256", d.Encoded())
			if tc.corrupt {
				bad := bytes.Clone(content)
				bad[7] ^= 1
				gtWriteRaw(t, p, bad)
				must(t, os.Chmod(p, 0o444))
			}
			tc.prepare(t, p)
			dst, dstDir := gtCreate(t)
			method, err := dst.LinkBlob(ctx, filepath.Join(srcDir, "blobs"), d, int64(len(content)), linkOpts(!tc.trusted)...)
			var integrity *IntegrityError
			if tc.wantErr {
				if !errors.As(err, &integrity) {
					t.Fatalf("LinkBlob = %q, %v; want an IntegrityError", method, err)
				}
				return
			}
			if err != nil || method == "" {
				t.Fatalf("LinkBlob = %q, %v", method, err)
			}
			si, _ := os.Stat(p)
			di, err := os.Stat(filepath.Join(dstDir, "blobs", "sha256", d.Encoded()))
			must(t, err)
			if shared := os.SameFile(si, di); shared && !tc.mayShare || (method == "hardlink") != shared {
				t.Fatalf("method %q, inode shared %v; sharing allowed: %v", method, shared, tc.mayShare)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
