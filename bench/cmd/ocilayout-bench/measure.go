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
	"strings"
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

// compare times commands CMD_A, CMD_B, ... (two or more, separated by
// --vs--) interleaved: -runs rounds, each running every command once, in
// an order that rotates from round to round and is reversed every other
// round (A B C, C B A... shifted), so a drift in machine load weighs on all
// alike; each run follows -setup. It prints the median seconds of each
// command on one line, and with -rss a second line with each command's
// peak RSS in KiB (the largest over its runs). On a shared machine this is
// what makes a ratio mean something: timing all runs of A and then all of
// B lets a change in load between the two blocks pass for a speed-up.
func compare(args []string) error {
	fs := newFlags("compare")
	runs := fs.Int("runs", 5, "number of rounds")
	setup := fs.String("setup", "", "shell command run before each run, untimed")
	withRSS := fs.Bool("rss", false, "also print a line of peak RSS (KiB) per command")
	_ = fs.Parse(args)
	cmds, err := splitCommands(fs.Args())
	if err != nil {
		return err
	}
	n := len(cmds)
	times := make([][]float64, n)
	peaks := make([]int64, n)
	for round := range *runs {
		for k := range n {
			i := (k + round/2) % n
			if round%2 == 1 {
				i = n - 1 - i
			}
			secs, rss, err := timeRun(*setup, cmds[i])
			if err != nil {
				return err
			}
			times[i] = append(times[i], secs)
			peaks[i] = max(peaks[i], rss)
		}
	}
	meds := make([]string, n)
	kib := make([]string, n)
	for i := range n {
		meds[i] = fmt.Sprintf("%.4f", median(times[i]))
		kib[i] = fmt.Sprint(peaks[i])
	}
	fmt.Println(strings.Join(meds, " "))
	if *withRSS {
		fmt.Println(strings.Join(kib, " "))
	}
	return nil
}

// splitCommands splits "A ARGS --vs-- B ARGS [--vs-- C ARGS...]" into
// at least two non-empty commands.
func splitCommands(rest []string) ([][]string, error) {
	var cmds [][]string
	for {
		sep := slices.Index(rest, "--vs--")
		if sep < 0 {
			cmds = append(cmds, rest)
			break
		}
		cmds, rest = append(cmds, rest[:sep]), rest[sep+1:]
	}
	if len(cmds) < 2 || slices.ContainsFunc(cmds, func(c []string) bool { return len(c) == 0 }) {
		return nil, errors.New("usage: compare [flags] -- CMD_A ARGS --vs-- CMD_B ARGS [--vs-- CMD_C ARGS...]")
	}
	return cmds, nil
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
