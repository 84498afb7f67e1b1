package layout

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestDeleteOnFullFileSystem: on a full file system a delete, which needs
// room for a new index.json before it frees anything, first collects what
// gc may (a blob nothing reaches) and succeeds; with nothing to collect it
// fails with ENOSPC and says what to do, leaving the layout as it was.
func TestDeleteOnFullFileSystem(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root to mount a small tmpfs, and CI=true")
		}
		t.Skip("needs root to mount a small tmpfs")
	}
	ctx := context.Background()
	for _, garbage := range []bool{true, false} {
		mnt := t.TempDir()
		if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=512k"); err != nil {
			t.Skipf("this sandbox refuses tmpfs mounts (%v)", err)
		}
		t.Cleanup(func() { _ = syscall.Unmount(mnt, 0) })
		l, err := Create(filepath.Join(mnt, "L"))
		must(t, err)
		defer l.Close()
		for _, tag := range []string{"a", "b"} {
			must(t, l.addManifest(ctx, gtManifest(t, l, "same"), tag))
		}
		if garbage {
			junk := make([]byte, 64<<10)
			_, _ = rand.Read(junk)
			_, err := l.putBytes(ctx, junk)
			must(t, err)
		}
		// Fill the file system to the last block.
		f, err := os.Create(filepath.Join(mnt, "filler"))
		must(t, err)
		for {
			if _, err := f.Write(bytes.Repeat([]byte{1}, 4096)); err != nil {
				break
			}
		}
		f.Close()
		before, _ := os.ReadFile(filepath.Join(mnt, "L", "index.json"))
		_, err = l.Delete(ctx, sel(t, "a"))
		switch {
		case garbage && err != nil:
			t.Fatalf("delete on a full file system with garbage to collect: %v", err)
		case !garbage && (!errors.Is(err, syscall.ENOSPC) || !bytes.Contains([]byte(err.Error()), []byte("free some space"))):
			t.Fatalf("delete on a full file system with nothing to collect: %v, want ENOSPC saying what to do", err)
		case !garbage:
			if after, _ := os.ReadFile(filepath.Join(mnt, "L", "index.json")); !bytes.Equal(before, after) {
				t.Fatal("index.json changed by a failed delete")
			}
		}
	}
}
