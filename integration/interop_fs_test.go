package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestInteropReflinkXFS copies layout -> layout on a real XFS file system
// (a loop-mounted image made by Debian's mkfs.xfs, reflink on by default)
// and checks that the layers were cloned, not hard linked or streamed:
// each destination layer is its own inode with the source's content, and
// the file system's free space drops by less than 1 MiB for 64 MiB of
// layers.
// ext4, where the rest of the suite runs, has no reflink, so this is the
// only test of the FICLONE path.
func TestInteropReflinkXFS(t *testing.T) {
	mkfs := ioTool(t, "mkfs.xfs")
	mnt := ioLoopMount(t, mkfs, 512<<20)

	const layers, layerSize = 2, 32 << 20
	src := filepath.Join(mnt, "src")
	writeRandomImage(t, src, "app", imageSpec{seed: 11, layers: layers, layerSize: layerSize})
	for _, tc := range []struct {
		name  string
		flags []string
	}{
		{"verified", nil},
		{"trusted", []string{"--trust-linked-blobs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := filepath.Join(mnt, "dst-"+tc.name)
			before := ioFreeBytes(t, mnt)
			args := append([]string{"copy", "--quiet", "--insecure-policy"}, tc.flags...)
			mustRunCLI(t, append(args, "oci-layout:"+src+":app", "oci-layout:"+dst+":app")...)
			used := before - ioFreeBytes(t, mnt)
			// Measured: 24-56 KiB (inodes, directory and refcount-btree
			// blocks, the few-KiB index, manifest and config). 1 MiB is 18
			// times that and 1/64 of the layers: a layer, or 1 MiB of
			// one, copied rather than cloned exceeds it.
			if used > 1<<20 {
				t.Errorf("the copy used %d bytes of the file system for %d bytes of layers (limit 1 MiB): not cloned", used, layers*layerSize)
			}
			checkLayout(t, dst)
			_, m := ioLayoutManifest(t, src, "app")
			if len(m.Layers) != layers {
				t.Fatalf("source manifest has %d layers, want %d", len(m.Layers), layers)
			}
			for _, l := range m.Layers {
				si, err := os.Stat(filepath.Join(src, "blobs", "sha256", l.Digest.Encoded()))
				if err != nil {
					t.Fatal(err)
				}
				di, err := os.Stat(filepath.Join(dst, "blobs", "sha256", l.Digest.Encoded()))
				if err != nil {
					t.Fatalf("layer %s missing in the destination: %v", l.Digest, err)
				}
				if os.SameFile(si, di) {
					t.Errorf("layer %s is a hard link on XFS; want a reflink (own inode)", l.Digest)
				}
			}
			t.Logf("%d bytes of layers, %d bytes of the file system used", layers*layerSize, used)
		})
	}
}

// ioLoopMount makes a file system of size bytes with mkfs in a file under
// t.TempDir, loop-mounts it and returns the mount point; it is unmounted
// when the test ends. Mounting needs root, loop devices and a sandbox that
// allows mount(2): where it refuses, the test is skipped saying why, even
// under CI=true, because no install step can grant that (a missing mkfs,
// which make tools installs, still fails under CI=true).
func ioLoopMount(t *testing.T, mkfs string, size int64) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "fs.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ioRun(t, mkfs, "-q", img)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Skip("cannot loop-mount here: mount -o loop " + img + ": " + err.Error() + ": " + strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	return mnt
}

// ioFreeBytes is the free space of the file system holding dir, after a
// sync so that delayed allocation is counted.
func ioFreeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	unix.Sync()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bfree) * st.Bsize
}
