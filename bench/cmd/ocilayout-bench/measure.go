package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// measure runs CMD -runs times, each after -setup (untimed, via sh -c),
// and prints "MEDIAN_SECONDS MAX_PEAK_RSS_KIB". Peak RSS comes from the
// kernel's rusage of the child (ru_maxrss), the same figure /usr/bin/time
// -v reports, so it covers the whole process, not only the Go heap.
func measure(args []string) error {
	fs := newFlags("measure")
	runs := fs.Int("runs", 5, "number of timed runs")
	setup := fs.String("setup", "", "shell command run before each run, untimed")
	_ = fs.Parse(args)
	cmdArgs := fs.Args()
	if len(cmdArgs) == 0 {
		return fmt.Errorf("no command")
	}
	var times []float64
	var peak int64
	for range *runs {
		secs, rss, err := timeRun(*setup, cmdArgs)
		if err != nil {
			return err
		}
		times = append(times, secs)
		peak = max(peak, rss)
	}
	fmt.Printf("%.4f %d\n", median(times), peak)
	return nil
}

// timeRun runs setup (untimed, via sh -c, if not empty), then times
// cmdArgs; it returns the wall seconds and the peak RSS in KiB.
func timeRun(setup string, cmdArgs []string) (float64, int64, error) {
	if setup != "" {
		if out, err := exec.Command("sh", "-c", setup).CombinedOutput(); err != nil {
			return 0, 0, fmt.Errorf("setup %q: %v: %s", setup, err, out)
		}
	}
	cmd := exec.Command(cmdArgs[0], cmdArgs[1:]...)
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%v: %w", cmdArgs, err)
	}
	secs := time.Since(start).Seconds()
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return secs, rss, nil
}

func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// compare times two commands, CMD_A and CMD_B, interleaved: -runs
// rounds, each running both (A then B, then B then A in the next round, so
// a drift in machine load weighs on both alike), each run after -setup. It
// prints "MEDIAN_A MEDIAN_B" in seconds. On a shared machine this is what
// makes a ratio mean something: timing all runs of A and then all of B
// lets a change in load between the two blocks pass for a speed-up.
func compare(args []string) error {
	fs := newFlags("compare")
	runs := fs.Int("runs", 5, "number of rounds")
	setup := fs.String("setup", "", "shell command run before each run, untimed")
	_ = fs.Parse(args)
	rest := fs.Args()
	sep := slices.Index(rest, "--vs--")
	if sep <= 0 || sep == len(rest)-1 {
		return errors.New("usage: compare [flags] -- CMD_A ARGS --vs-- CMD_B ARGS")
	}
	cmds := [2][]string{rest[:sep], rest[sep+1:]}
	var times [2][]float64
	for round := range *runs {
		for k := range 2 {
			i := k
			if round%2 == 1 {
				i = 1 - k
			}
			secs, _, err := timeRun(*setup, cmds[i])
			if err != nil {
				return err
			}
			times[i] = append(times[i], secs)
		}
	}
	fmt.Printf("%.4f %.4f\n", median(times[0]), median(times[1]))
	return nil
}

// hashSerial hashes every file under DIR/blobs on one goroutine and
// prints the seconds it took: the single-core baseline for verify.
func hashSerial(args []string) error {
	fs := newFlags("sha256")
	dir := fs.String("dir", "", "layout directory")
	_ = fs.Parse(args)
	start := time.Now()
	buf := make([]byte, 1<<20)
	err := filepath.WalkDir(filepath.Join(*dir, "blobs"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyBuffer(sha256.New(), f, buf)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Printf("%.4f\n", time.Since(start).Seconds())
	return nil
}
