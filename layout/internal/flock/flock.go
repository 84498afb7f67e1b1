// Package flock takes flock(2) locks on lock files inside an os.Root.
//
// flock is per open file description, so a lock serialises goroutines of
// one process as well as processes, and the kernel drops it when its
// holder dies: a kill -9 never leaves a layout locked.
//
// What a lock file must be. A lock only excludes those who lock the same
// inode, and flock needs no more than a read-only descriptor, so:
//
//   - it is opened with O_NOFOLLOW on the layout directory's descriptor
//     (os.Root follows symlinks inside the root, and a lock file made a
//     symlink to index.json would have every writer lock whatever inode
//     index.json is at that moment: lost updates). A symlink, a hard
//     link (more than one name), a directory or any non-regular file is
//     refused with an error naming it;
//   - nobody but its owner may open it: it is created 0600, and one that
//     group or others can open is not used as it is, because anyone who
//     can open it can hold the lock for ever and stop every writer, gc
//     and delete. One of ours is replaced (see replace); anyone else's is
//     refused;
//   - it belongs to us or to the owner of the layout directory (root
//     working in a user's layout uses the user's lock files, and hands the
//     ones it creates to that user, so the user's own commands still can
//     open them);
//   - after the lock is granted, the name must still be that inode; if the
//     file was replaced meanwhile the lock is retaken on the new one.
//
// Waiting. A wait polls LOCK_NB with a backoff (1 ms doubling to 50 ms)
// rather than blocking in flock(2): a blocked flock cannot be interrupted
// (Go restarts it after signals) and a goroutine left in it would hold a
// thread and, one day, a lock nobody releases. Polling lets the wait honour
// the context (SIGINT, SIGTERM) and a timeout, and tell the user after a
// second what it waits for. Its cost is up to 50 ms of latency under
// contention and no FIFO order among waiters.
package flock

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Options say how long Lock waits and whom it tells.
type Options struct {
	// Timeout bounds the wait; 0 waits until the context is done.
	Timeout time.Duration
	// Notify, if set, is told once, when the wait has lasted NotifyAfter,
	// what is waited for.
	Notify func(msg string)
	// What names the lock in messages ("the index lock").
	What string
	// NoCreate: use the lock file only if it exists, and as it is (no
	// replacement), for readers, which must write nothing to a layout.
	NoCreate bool
}

// NotifyAfter is how long a wait lasts before Options.Notify is told.
const NotifyAfter = time.Second

// ErrTimeout is wrapped by Lock's error when Options.Timeout passed.
var ErrTimeout = errors.New("timed out")

// ErrLockFile is matched (errors.Is) by Lock's error when the lock file
// could not be opened or was refused, as opposed to a wait that ended:
// a reader on a read-only layout goes on without a lock.
var ErrLockFile = errors.New("lock file unusable")

type openError struct{ err error }

func (e openError) Error() string        { return e.err.Error() }
func (e openError) Unwrap() error        { return e.err }
func (e openError) Is(target error) bool { return target == ErrLockFile }

// Lock takes an exclusive or shared flock on the file name (one path
// component) in root, creating it if needed, and returns the function
// that releases it. dir names the layout in errors.
func Lock(ctx context.Context, root *os.Root, dir, name string, exclusive bool, o Options) (func(), error) {
	if o.What == "" {
		o.What = "lock " + name
	}
	w := waiter{ctx: ctx, o: o, dir: dir, start: time.Now()}
	if o.Timeout > 0 {
		t := time.NewTimer(o.Timeout)
		defer t.Stop()
		w.deadline = t.C
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		f, loose, err := open(root, dir, name, !o.NoCreate)
		if err != nil {
			return nil, openError{err}
		}
		loose = loose && !o.NoCreate
		h := how
		if loose {
			h = syscall.LOCK_EX // replacing needs everyone else out
		}
		if err := w.flock(f, h); err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s in %s: %w", name, dir, err)
		}
		same, err := stillNamed(root, name, f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking %s in %s: %w", name, dir, err)
		}
		if !same {
			f.Close() // replaced while we waited: lock the new one
			continue
		}
		if loose {
			err := replace(root, dir, name)
			f.Close()
			if err != nil {
				return nil, err
			}
			continue
		}
		return func() {
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			f.Close()
		}, nil
	}
}

// waiter polls for one lock within a context, a deadline and a notice.
type waiter struct {
	ctx      context.Context
	o        Options
	dir      string
	start    time.Time
	deadline <-chan time.Time
	notified bool
}

func (w *waiter) flock(f *os.File, how int) error {
	delay := time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if err != syscall.EWOULDBLOCK && err != syscall.EINTR {
			return err
		}
		if !w.notified && w.o.Notify != nil && time.Since(w.start) >= NotifyAfter {
			w.notified = true
			w.o.Notify(fmt.Sprintf("waiting for %s of %s, held by another process...", w.o.What, w.dir))
		}
		t := time.NewTimer(delay + rand.N(delay/2+1))
		select {
		case <-w.ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for %s: %w", w.o.What, w.ctx.Err())
		case <-w.deadline:
			t.Stop()
			return fmt.Errorf("waiting for %s: %w after %s (held by another process)", w.o.What, ErrTimeout, w.o.Timeout)
		case <-t.C:
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// open opens (creating, 0600) the lock file name in root without
// following a symlink, and checks that it is one we may lock (see the
// package comment). loose reports a lock file of ours that others can
// open: usable only to be replaced.
func open(root *os.Root, dir, name string, create bool) (f *os.File, loose bool, err error) {
	d, err := root.Open(".")
	if err != nil {
		return nil, false, fmt.Errorf("opening lock file %s in %s: %w", name, dir, err)
	}
	defer d.Close()
	dst, err := d.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("opening lock file %s in %s: %w", name, dir, err)
	}
	owner := dst.Sys().(*syscall.Stat_t)
	flags := unix.O_RDWR | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC
	if create {
		flags |= unix.O_CREAT
	}
	fd, err := unix.Openat(int(d.Fd()), name, flags, 0o600)
	switch {
	case errors.Is(err, unix.ELOOP):
		return nil, false, fmt.Errorf("lock file %s in %s is a symlink: refusing it (a lock file must be a regular file ocilayout created; remove it while no ocilayout command uses the layout)", name, dir)
	case errors.Is(err, unix.EISDIR):
		return nil, false, fmt.Errorf("lock file %s in %s is a directory: refusing it (remove it while no ocilayout command uses the layout)", name, dir)
	case err != nil:
		return nil, false, fmt.Errorf("opening lock file %s in %s: %w", name, dir, err)
	}
	f = os.NewFile(uintptr(fd), name)
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("opening lock file %s in %s: %w", name, dir, err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	euid := uint32(os.Geteuid())
	if euid == 0 && st.Uid == 0 && owner.Uid != 0 && st.Size == 0 && st.Nlink == 1 && fi.Mode().IsRegular() {
		// root working in a user's layout: the file is the user's, so
		// that the user's own commands can still open it. A failed chown
		// leaves it root's, which only root can open: safe.
		if f.Chown(int(owner.Uid), int(owner.Gid)) == nil {
			st.Uid = owner.Uid
		}
	}
	problem := ""
	switch {
	case !fi.Mode().IsRegular():
		problem = "is not a regular file"
	case st.Nlink != 1:
		problem = fmt.Sprintf("has %d names (a hard link)", st.Nlink)
	case st.Uid != euid && st.Uid != owner.Uid:
		problem = fmt.Sprintf("belongs to uid %d, neither us (%d) nor the layout's owner (%d)", st.Uid, euid, owner.Uid)
	case fi.Mode().Perm()&0o077 != 0 && st.Uid != euid:
		problem = fmt.Sprintf("can be opened by others (mode %04o), who could hold it and stop every writer; it belongs to uid %d, so we cannot replace it (its owner can: run any ocilayout write, or chmod 600 it while no ocilayout command uses the layout)", fi.Mode().Perm(), st.Uid)
	}
	if problem != "" {
		f.Close()
		return nil, false, fmt.Errorf("lock file %s in %s %s: refusing it", name, dir, problem)
	}
	return f, fi.Mode().Perm()&0o077 != 0, nil
}

// stillNamed reports whether name in root is (still) the inode f is.
func stillNamed(root *os.Root, name string, f *os.File) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	ni, err := root.Lstat(name)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, ni), nil
}

// replace puts a new, empty 0600 lock file under name, by rename, while
// the caller holds the old one exclusively. A lock file others could open
// (one an older ocilayout made 0644) cannot be fixed by chmod: whoever
// opened it before keeps a descriptor that can still lock it. Everyone
// who waits on the old inode finds, once granted, that the name is a new
// inode (stillNamed) and locks that instead, so no two holders ever
// believe they hold the lock on different inodes.
func replace(root *os.Root, dir, name string) error {
	tmp := name + ".new"
	_ = root.Remove(tmp)
	nf, err := root.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("replacing lock file %s in %s (others could open it): %w", name, dir, err)
	}
	err = nf.Chmod(0o600) // umask cannot widen it, but be explicit
	nf.Close()
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return fmt.Errorf("replacing lock file %s in %s (others could open it): %w", name, dir, err)
	}
	return nil
}
