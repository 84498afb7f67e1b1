package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
)

// killPoint is where in a copy one iteration of TestKillDuringCopy sends
// SIGKILL: after the afterLine'th line of the copy's progress on stderr
// (0: as soon as it started), then after extra more. The schedule is a
// function of the iteration alone, so a failure replays; the extra delay is
// fault injection, not synchronisation, and nothing asserts on time.
type killPoint struct {
	afterLine int
	extra     time.Duration
}

func killSchedule(i int) killPoint {
	// copy.Image prints about 8 lines for a 4-layer image ("Getting image
	// source signatures", one per blob, config, "Writing manifest", ...),
	// so cycling over 0..7 lands kills before, among and after the blob
	// writes, and the growing extra delay shifts each kill within a phase.
	return killPoint{afterLine: i % 8, extra: time.Duration(i/8) * 3 * time.Millisecond}
}

// TestKillDuringCopy SIGKILLs `ocilayout copy` of a multi-MiB, multi-layer
// image at 24 points and checks after each that the layout opens, that
// index.json parses and that every entry's manifests, configs and layers
// are present and verify; a final copy must then succeed.
func TestKillDuringCopy(t *testing.T) {
	const iterations = 24
	src := filepath.Join(t.TempDir(), "src")
	dst := filepath.Join(t.TempDir(), "dst")
	// The layout exists before the first kill: initialising a layout is
	// itself atomic (index.json is written last), but a directory killed
	// before that holds no index.json and is, rightly, not a layout yet.
	l, err := layout.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()

	killed, completed := 0, 0
	checked := map[string]bool{}
	for i := range iterations {
		name := fmt.Sprintf("img%d", i)
		writeRandomImage(t, src, name, imageSpec{seed: 1000 + uint64(i), layers: 4, layerSize: 1 << 20})
		// Three tags in rotation, so kills also land in tag moves.
		dstRef := fmt.Sprintf("oci-layout:%s:t%d", dst, i%3)
		if copyAndKill(t, fmt.Sprintf("oci:%s:%s", src, name), dstRef, killSchedule(i)) {
			killed++
		} else {
			completed++
		}
		checkAfterKill(t, dst, i, checked)
	}
	t.Logf("%d copies killed, %d finished before the kill", killed, completed)
	if killed == 0 {
		t.Errorf("no copy was interrupted: the schedule does not test crashes")
	}

	final := writeRandomImage(t, src, "final", imageSpec{seed: 999, layers: 4, layerSize: 1 << 20})
	mustRunCLI(t, "copy", "--quiet", "--insecure-policy", "oci:"+src+":final", "oci-layout:"+dst+":final")
	tags := tagsOf(t, checkLayout(t, dst))
	if tags["final"] != final {
		t.Errorf("after the kills, a copy to final left %s, want %s", tags["final"], final)
	}
}

// copyAndKill starts a copy (with flags), kills it at p and reports
// whether the kill came before the process exited on its own.
func copyAndKill(t *testing.T, src, dst string, p killPoint, flags ...string) bool {
	t.Helper()
	cmd := cliCommand(t, append(append([]string{"copy", "--insecure-policy"}, flags...), src, dst)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	var seen []string
	for len(seen) < p.afterLine && sc.Scan() {
		seen = append(seen, sc.Text())
	}
	if p.extra > 0 {
		time.Sleep(p.extra)
	}
	if len(seen) > 0 {
		t.Logf("kill after %q + %v", seen[len(seen)-1], p.extra)
	}
	killErr := cmd.Process.Signal(syscall.SIGKILL)
	rest, _ := io.ReadAll(stderr)
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		return true
	}
	if err != nil && killErr == nil {
		t.Fatalf("copy %s %s failed without being killed: %v\n%s\n%s", src, dst, err, strings.Join(seen, "\n"), rest)
	}
	return false
}

// checkAfterKill fails the test unless the layout at dst, after the kill
// of iteration i, opens and verifies and every blob file not checked
// before holds its digest's content.
func checkAfterKill(t *testing.T, dst string, i int, checked map[string]bool) {
	t.Helper()
	if err := verifyLayout(context.Background(), dst); err != nil {
		t.Fatalf("after iteration %d (%+v): %v", i, killSchedule(i), err)
	}
	if err := checkBlobNames(dst, checked); err != nil {
		t.Fatalf("after iteration %d (%+v): %v", i, killSchedule(i), err)
	}
}

// TestKillScheduleVaries guards the crash test's premise: its schedule
// must put kills at different points, not the same one 24 times.
func TestKillScheduleVaries(t *testing.T) {
	seen := map[killPoint]bool{}
	for i := range 24 {
		seen[killSchedule(i)] = true
	}
	if len(seen) < 20 {
		t.Errorf("kill schedule has %d distinct points over 24 iterations", len(seen))
	}
}

// checkBlobNames hashes every file under blobs/ that is not a temp file and
// was not checked before: a file under a digest name must hold exactly
// that content, even when nothing references it yet, or an interrupted
// write was visible under its final name.
func checkBlobNames(dir string, checked map[string]bool) error {
	return filepath.WalkDir(filepath.Join(dir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") || checked[p] {
			return err
		}
		alg := digest.Algorithm(filepath.Base(filepath.Dir(p)))
		want := digest.NewDigestFromEncoded(alg, d.Name())
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		got, err := alg.FromReader(f)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("blob file %s holds content with digest %s", p, got)
		}
		checked[p] = true
		return nil
	})
}
