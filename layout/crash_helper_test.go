package layout

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestMain runs the tests, or, when mtCrashEnv is set, is the child
// process of TestCrashDuringDeleteAndGC: it runs no test, only the GC or
// Delete it is told to, and kills itself at the point it is told to.
func TestMain(m *testing.M) {
	if spec := os.Getenv(mtCrashEnv); spec != "" {
		err := mtCrashChild(spec, os.Getenv(mtCrashEnv+"_DIR"))
		fmt.Fprintf(os.Stderr, "%s was not killed (err %v)\n", spec, err)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

// mtCrashChild runs op ("gc" or "delete") on the layout at dir with the
// test hooks set to SIGKILL the process before the n-th file removal (or,
// for n < 0, right after Delete wrote index.json). It returns only if the
// kill point was never reached.
func mtCrashChild(spec, dir string) error {
	op, nStr, _ := strings.Cut(spec, ":")
	n, err := strconv.Atoi(nStr)
	if err != nil {
		return fmt.Errorf("bad %s %q: %w", mtCrashEnv, spec, err)
	}
	die := func() { _ = syscall.Kill(os.Getpid(), syscall.SIGKILL); select {} }
	testHookBeforeRemove = func(i int) {
		if i == n {
			die()
		}
	}
	if n < 0 {
		testHookDeleteCommitted = die
	}
	switch op {
	case "gc":
		l, err := Open(dir)
		if err != nil {
			return err
		}
		_, err = l.GC(context.Background())
		return err
	case "delete":
		_, err := deleteIn(context.Background(), dir, Selector{kind: selectName, name: "victim"})
		return err
	}
	return fmt.Errorf("unknown operation %q", op)
}
