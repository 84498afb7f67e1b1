package layout

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestUnknownMajorVersionRefusesWrites: on a layout whose oci-layout says
// imageLayoutVersion 2.0.0, every change (Create for a copy, a write
// lease, an index update, delete, gc) is refused naming the version, and
// reading still works.
func TestUnknownMajorVersionRefusesWrites(t *testing.T) {
	ctx := context.Background()
	l, dir := gtCreate(t)
	m := gtManifest(t, l, "v2")
	must(t, l.addManifest(ctx, m, "app"))
	gtWriteRaw(t, filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"2.0.0"}`))
	l2, err := Open(dir)
	must(t, err)
	defer l2.Close()
	for name, op := range map[string]func() error{
		"Create": func() error {
			c, err := Create(dir)
			if err == nil {
				c.Close()
			}
			return err
		},
		"AcquireWriteLease": func() error { w, err := l2.AcquireWriteLease(ctx); w.Release(); return err },
		"Update":            func() error { return l2.Update(ctx, func(*IndexTx) error { return nil }) },
		"Delete":            func() error { _, err := l2.Delete(ctx, sel(t, "app")); return err },
		"GC":                func() error { _, err := l2.GC(ctx); return err },
	} {
		if err := op(); err == nil || !strings.Contains(err.Error(), `imageLayoutVersion "2.0.0"`) {
			t.Errorf("%s: %v, want a refusal naming the version", name, err)
		}
	}
	if _, err := l2.ReadBlob(ctx, m.Digest, m.Size); err != nil {
		t.Errorf("reading: %v", err)
	}
}

// TestCreateRestoresMissingLayoutFile: Create of a layout that lost its
// oci-layout file writes it again.
func TestCreateRestoresMissingLayoutFile(t *testing.T) {
	_, dir := gtCreate(t)
	must(t, os.Remove(filepath.Join(dir, "oci-layout")))
	l, err := Create(dir)
	must(t, err)
	l.Close()
	data, err := os.ReadFile(filepath.Join(dir, "oci-layout"))
	if err != nil || !strings.Contains(string(data), `"1.0.0"`) {
		t.Fatalf("oci-layout after Create: %q, %v", data, err)
	}
}

// TestGCDryRunOnReadOnlyLayout: gc --dry-run needs no write access: on a
// read-only layout without lock files it reports what gc would remove and
// creates nothing.
func TestGCDryRunOnReadOnlyLayout(t *testing.T) {
	ctx := context.Background()
	l, dir := gtCreate(t)
	garbage, err := l.putBytes(ctx, []byte("garbage"))
	must(t, err)
	for _, n := range []string{indexLockFile, leaseLockFile, gcGateFile} {
		_ = os.Remove(filepath.Join(dir, n))
	}
	ro := dir
	if os.Geteuid() == 0 {
		ro = filepath.Join(t.TempDir(), "ro")
		must(t, os.Mkdir(ro, 0o755))
		if err := syscall.Mount(dir, ro, "", syscall.MS_BIND, ""); err != nil {
			t.Skipf("this sandbox refuses bind mounts (%v): no read-only layout to test on", err)
		}
		t.Cleanup(func() { _ = syscall.Unmount(ro, 0) })
		must(t, syscall.Mount("", ro, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""))
	} else {
		must(t, os.Chmod(dir, 0o555))
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	}
	before := gtTree(t, dir)
	r, err := Open(ro)
	must(t, err)
	defer r.Close()
	res, err := r.GC(ctx, DryRun())
	must(t, err)
	if len(res.Blobs) != 1 || res.Blobs[0].Digest != garbage {
		t.Fatalf("dry run on a read-only layout reports %+v, want the one garbage blob", res.Blobs)
	}
	if after := gtTree(t, dir); after != before {
		t.Fatalf("dry run changed the layout:\n%s\nwas\n%s", after, before)
	}
}
