package main

import (
	"os"

	"go.podman.io/storage/pkg/reexec"
)

// containers/storage applies layers (containers-storage: destinations) in
// a re-executed copy of this binary; reexec.Init runs that child's work
// and must come before anything else, or the parent panics mid-copy
// ("reexec.Init() was not called in main()"). An init function runs
// before main without touching it.
func init() {
	if reexec.Init() {
		os.Exit(0)
	}
}
