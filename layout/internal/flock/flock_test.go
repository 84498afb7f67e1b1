package flock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// within runs op and fails the test if it has not returned within d: a
// wait that ignores its context or timeout fails here instead of hanging.
func within(t *testing.T, d time.Duration, op func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- op() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("still waiting after %s", d)
		return nil
	}
}

func openRoot(t *testing.T) (*os.Root, string) {
	t.Helper()
	dir := t.TempDir()
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, dir
}

// holdFlock takes how on path through a descriptor of its own (another
// open file description: it conflicts as another process's would).
func holdFlock(t *testing.T, path string, how int) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestLockRefusesLockFilesItDidNotMake: a lock file that is a symlink
// (to index.json: os.Root would follow it, and writers would lock
// whatever inode index.json is), a hard link, a directory, a FIFO, or
// another user's file, is refused with an error naming it.
func TestLockRefusesLockFilesItDidNotMake(t *testing.T) {
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T, dir string)
		wantErr string
	}{
		{"symlink to index.json", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "index.json"), []byte("{}"), 0o644))
			must(t, os.Symlink("index.json", filepath.Join(dir, "x.lock")))
		}, "is a symlink"},
		{"dangling symlink", func(t *testing.T, dir string) {
			must(t, os.Symlink("nowhere", filepath.Join(dir, "x.lock")))
		}, "is a symlink"},
		{"hard link to index.json", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "index.json"), []byte("{}"), 0o600))
			must(t, os.Link(filepath.Join(dir, "index.json"), filepath.Join(dir, "x.lock")))
		}, "has 2 names"},
		{"directory", func(t *testing.T, dir string) { must(t, os.Mkdir(filepath.Join(dir, "x.lock"), 0o700)) }, "is a directory"},
		{"FIFO", func(t *testing.T, dir string) { must(t, syscall.Mkfifo(filepath.Join(dir, "x.lock"), 0o600)) }, "not a regular file"},
		{"another user's file", func(t *testing.T, dir string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to chown a file to uid 65534")
			}
			p := filepath.Join(dir, "x.lock")
			must(t, os.WriteFile(p, nil, 0o600))
			must(t, os.Chown(p, 65534, 65534))
		}, "belongs to uid 65534"},
		{"another user's file others can open, in that user's directory", func(t *testing.T, dir string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to chown files to uid 65534")
			}
			p := filepath.Join(dir, "x.lock")
			must(t, os.WriteFile(p, nil, 0o644))
			must(t, os.Chmod(p, 0o644))
			must(t, os.Chown(p, 65534, 65534))
			must(t, os.Chown(dir, 65534, 65534))
		}, "can be opened by others"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, dir := openRoot(t)
			tc.setup(t, dir)
			err := within(t, 5*time.Second, func() error {
				unlock, err := Lock(context.Background(), r, dir, "x.lock", true, Options{})
				if err == nil {
					unlock()
				}
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "x.lock") {
				t.Fatalf("got %v, want an error naming x.lock that says %q", err, tc.wantErr)
			}
		})
	}
}

// TestLockFileOnlyItsOwnerCanOpen: lock files are created 0600, so no
// other user can open one to hold its lock. One that others can open (as
// older versions made them, 0644) is replaced by a new 0600 inode, and a
// descriptor opened on the old one before (the other user's way in) no
// longer excludes anyone.
func TestLockFileOnlyItsOwnerCanOpen(t *testing.T) {
	r, dir := openRoot(t)
	p := filepath.Join(dir, "x.lock")
	unlock, err := Lock(context.Background(), r, dir, "x.lock", true, Options{})
	must(t, err)
	unlock()
	fi, err := os.Stat(p)
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("new lock file has mode %04o, want 0600", fi.Mode().Perm())
	}

	must(t, os.Chmod(p, 0o644))
	old := holdFlock(t, p, syscall.LOCK_SH) // opened while others could
	must(t, syscall.Flock(int(old.Fd()), syscall.LOCK_UN))
	unlock, err = Lock(context.Background(), r, dir, "x.lock", true, Options{Timeout: 5 * time.Second})
	must(t, err)
	// The old inode is no longer the lock: taking it blocks nobody.
	if err := syscall.Flock(int(old.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatalf("the old, world-readable inode is still what we lock: %v", err)
	}
	unlock()
	fi, err = os.Stat(p)
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("replaced lock file has mode %04o, want 0600", fi.Mode().Perm())
	}
	// And while the other descriptor holds the old inode exclusively,
	// the lock is still ours to take.
	err = within(t, 5*time.Second, func() error {
		u, err := Lock(context.Background(), r, dir, "x.lock", true, Options{})
		if err == nil {
			u()
		}
		return err
	})
	must(t, err)
}

// TestLockWaitHonoursContextTimeoutAndTellsWhy: a wait for a held lock
// ends with the context (what SIGINT and SIGTERM cancel in the CLI) or the
// timeout, with an error saying what it waited for, and says so after
// NotifyAfter through Notify.
func TestLockWaitHonoursContextTimeoutAndTellsWhy(t *testing.T) {
	r, dir := openRoot(t)
	unlock, err := Lock(context.Background(), r, dir, "x.lock", false, Options{})
	must(t, err)
	unlock()
	holdFlock(t, filepath.Join(dir, "x.lock"), syscall.LOCK_EX)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	err = within(t, 5*time.Second, func() error {
		_, err := Lock(ctx, r, dir, "x.lock", true, Options{What: "the index lock"})
		return err
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "the index lock") {
		t.Fatalf("cancelled wait: got %v, want context.Canceled naming the index lock", err)
	}

	var mu sync.Mutex
	var notes []string
	err = within(t, 10*time.Second, func() error {
		_, err := Lock(context.Background(), r, dir, "x.lock", false, Options{
			Timeout: NotifyAfter + 500*time.Millisecond, What: "the index lock",
			Notify: func(m string) { mu.Lock(); notes = append(notes, m); mu.Unlock() },
		})
		return err
	})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("timed wait: got %v, want ErrTimeout", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(notes) != 1 || !strings.Contains(notes[0], "waiting for the index lock of "+dir) {
		t.Fatalf("notices %q, want one saying it waits for the index lock of %s", notes, dir)
	}
}

// TestLockRetakesAReplacedFile: a waiter granted the lock on an inode
// that is no longer the lock file's name locks the new one instead, so
// replacing a lock file never leaves two holders.
func TestLockRetakesAReplacedFile(t *testing.T) {
	r, dir := openRoot(t)
	p := filepath.Join(dir, "x.lock")
	unlock, err := Lock(context.Background(), r, dir, "x.lock", true, Options{})
	must(t, err)
	got := make(chan func(), 1)
	go func() {
		u, err := Lock(context.Background(), r, dir, "x.lock", true, Options{Timeout: 5 * time.Second})
		if err != nil {
			t.Error(err)
			u = func() {}
		}
		got <- u
	}()
	time.Sleep(50 * time.Millisecond) // let it open the old inode and wait
	must(t, os.WriteFile(p+".new", nil, 0o600))
	must(t, os.Rename(p+".new", p))
	newHolder := holdFlock(t, p, syscall.LOCK_EX)
	unlock() // the waiter now gets the old inode, sees it replaced, and waits on the new one
	select {
	case <-got:
		t.Fatal("the waiter took the lock while another holder has the current lock file")
	case <-time.After(300 * time.Millisecond):
	}
	newHolder.Close()
	(<-got)()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
