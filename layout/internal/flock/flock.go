// Package flock takes flock(2) locks on lock files inside an os.Root.
//
// flock is per open file description, so a lock serialises goroutines of
// one process as well as processes, and the kernel drops it when its
// holder dies: a kill -9 never leaves a layout locked.
package flock

import (
	"fmt"
	"os"
	"syscall"
)

// Lock takes an exclusive or shared flock on the file name in root,
// creating the file if needed, and returns the function that releases it.
// It waits for as long as the lock is held elsewhere. dir names the
// layout in errors.
func Lock(root *os.Root, dir, name string, exclusive bool) (func(), error) {
	f, err := root.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening lock file %s in %s: %w", name, dir, err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s in %s: %w", name, dir, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
