package layout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
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
			if _, err := src.putBytes(ctx, content); err != nil {
				t.Fatal(err)
			}
			srcPath := filepath.Join(srcDir, "blobs", "sha256", d.Encoded())
			if tc.corrupt {
				bad := bytes.Clone(content)
				bad[100] ^= 1
				gtWriteRaw(t, srcPath, bad)
			}
			dst, dstDir := gtCreate(t)
			method, err := dst.LinkBlob(ctx, filepath.Join(srcDir, "blobs"), d, tc.size, linkOpts(tc.verify)...)
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
			case "hardlink":
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
		method, err := dst.LinkBlob(context.Background(), dir, d, 10, linkOpts(true)...)
		if method != "" || err != nil {
			t.Fatalf("%s: method %q, err %v; want nothing", dir, method, err)
		}
	}
	if _, err := dst.LinkBlob(context.Background(), t.TempDir(), "sha256:../../x", 1, linkOpts(true)...); err == nil {
		t.Fatal("malformed digest accepted")
	}
}

// TestLinkBlobFromImmutableSource: a source blob marked immutable (chattr
// +i, as an administrator may protect a golden layout) cannot be hard
// linked (EPERM), and ext4 cannot reflink, so the blob is copied inside
// the kernel with copy_file_range: a new inode with the same content,
// verified, read-only, and the source left as it was.
func TestLinkBlobFromImmutableSource(t *testing.T) {
	ctx := context.Background()
	content := bytes.Repeat([]byte("golden layer "), 30000)
	d := digest.FromBytes(content)
	for _, corrupt := range []bool{false, true} {
		t.Run(map[bool]string{false: "intact", true: "corrupt refused"}[corrupt], func(t *testing.T) {
			src, srcDir := gtCreate(t)
			if _, err := src.putBytes(ctx, content); err != nil {
				t.Fatal(err)
			}
			srcPath := filepath.Join(srcDir, "blobs", "sha256", d.Encoded())
			if corrupt {
				bad := bytes.Clone(content)
				bad[len(bad)-1] ^= 1
				gtWriteRaw(t, srcPath, bad)
			}
			gtChattr(t, "+i", srcPath)
			t.Cleanup(func() { gtChattr(t, "-i", srcPath) }) // or TempDir cannot remove it
			dst, dstDir := gtCreate(t)
			if reflinks, _ := fixture.CanReflink(dstDir); reflinks {
				t.Skipf("%s can reflink, so copy_file_range is not reached; this test needs ext4 or the like", dstDir)
			}
			method, err := dst.LinkBlob(ctx, filepath.Join(srcDir, "blobs"), d, int64(len(content)), linkOpts(true)...)
			dstPath := filepath.Join(dstDir, "blobs", "sha256", d.Encoded())
			if corrupt {
				var integrity *IntegrityError
				if !errors.As(err, &integrity) || method != "" {
					t.Fatalf("LinkBlobFrom of a corrupt immutable blob = %q, %v; want an IntegrityError", method, err)
				}
				if _, err := os.Stat(dstPath); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("corrupt blob kept (stat: %v)", err)
				}
			} else {
				if err != nil || method != "copy_file_range" {
					t.Fatalf("LinkBlobFrom = %q, %v; want %q", method, err, "copy_file_range")
				}
				si, _ := os.Stat(srcPath)
				di, err := os.Stat(dstPath)
				if err != nil || os.SameFile(si, di) || di.Mode().Perm() != 0o444 {
					t.Fatalf("copied blob: stat err %v, same inode as source %v, mode %v", err, os.SameFile(si, di), di.Mode())
				}
				if got, err := dst.ReadBlob(ctx, d, int64(len(content))); err != nil || !bytes.Equal(got, content) {
					t.Fatalf("ReadBlob of the copy: %v", err)
				}
			}
			if left := gtTemps(t, dstDir); len(left) > 0 {
				t.Fatalf("temp files left behind: %v", left)
			}
		})
	}
}

// gtChattr runs chattr FLAG PATH. Setting +i needs root
// (CAP_LINUX_IMMUTABLE) and a file system with the flag; where they are
// missing the test is skipped saying why, even under CI=true, because no
// install step can grant them (chattr itself is in every Debian).
func gtChattr(t *testing.T, flag, path string) {
	t.Helper()
	out, err := exec.Command("chattr", flag, path).CombinedOutput()
	if err != nil {
		msg := fmt.Sprintf("chattr %s %s: %v: %s", flag, path, err, out)
		if flag == "+i" {
			t.Skip("cannot make a file immutable here: " + msg)
		}
		t.Fatal(msg)
	}
}
