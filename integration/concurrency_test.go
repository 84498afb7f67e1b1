package integration

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
)

// copyJob is one `ocilayout copy` process of a concurrent batch.
type copyJob struct {
	src, dst string
}

// runConcurrently starts every job as its own process before waiting for
// any, so that their commits overlap, and returns each one's error (with
// its stderr) in job order.
func runConcurrently(t testing.TB, jobs []copyJob) []error {
	t.Helper()
	cmds := make([]*exec.Cmd, len(jobs))
	stderrs := make([]*bytes.Buffer, len(jobs))
	for i, j := range jobs {
		cmds[i] = cliCommand(t, "copy", "--quiet", "--insecure-policy", j.src, j.dst)
		stderrs[i] = &bytes.Buffer{}
		cmds[i].Stderr = stderrs[i]
	}
	for i, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatalf("starting copy %d: %v", i, err)
		}
	}
	errs := make([]error, len(jobs))
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			errs[i] = fmt.Errorf("copy %s %s: %w: %s", jobs[i].src, jobs[i].dst, err, bytes.TrimSpace(stderrs[i].Bytes()))
		}
	}
	return errs
}

// sourceImages writes n small distinct images into one oci: layout as
// img0..img(n-1) and returns their manifest digests.
func sourceImages(t testing.TB, dir string, n int, seed uint64) []digest.Digest {
	t.Helper()
	ds := make([]digest.Digest, n)
	for i := range n {
		ds[i] = writeRandomImage(t, dir, fmt.Sprintf("img%d", i), imageSpec{seed: seed + uint64(i), layers: 2, layerSize: 64 << 10})
	}
	return ds
}

// TestConcurrentCopiesDifferentTags: 16 processes copying 16 different
// images into one new layout under 16 tags must leave all 16 tags, each
// on the image that was copied to it, with every blob present and valid.
func TestConcurrentCopiesDifferentTags(t *testing.T) {
	const n = 16
	src := filepath.Join(t.TempDir(), "src")
	want := sourceImages(t, src, n, 100)
	dst := filepath.Join(t.TempDir(), "dst") // missing: the racers also race to create it

	var jobs []copyJob
	for i := range n {
		jobs = append(jobs, copyJob{src: fmt.Sprintf("oci:%s:img%d", src, i), dst: fmt.Sprintf("oci-layout:%s:tag%d", dst, i)})
	}
	for _, err := range runConcurrently(t, jobs) {
		if err != nil {
			t.Error(err)
		}
	}
	entries := checkLayout(t, dst)
	tags := tagsOf(t, entries)
	for i := range n {
		name := fmt.Sprintf("tag%d", i)
		if got, ok := tags[name]; !ok {
			t.Errorf("tag %s missing after %d concurrent copies; index has %d entries", name, n, len(entries))
		} else if got != want[i] {
			t.Errorf("tag %s is %s, copied %s", name, got, want[i])
		}
	}
	if len(entries) != n {
		t.Errorf("index.json has %d entries, want %d", len(entries), n)
	}
}

// TestConcurrentCopiesSameTag: 8 processes writing 8 different images to
// one tag end with exactly one entry, holding the tag and one of the 8
// digests; the losers' entries are gone, not left untagged.
func TestConcurrentCopiesSameTag(t *testing.T) {
	const n = 8
	src := filepath.Join(t.TempDir(), "src")
	want := sourceImages(t, src, n, 200)
	dst := filepath.Join(t.TempDir(), "dst")

	var jobs []copyJob
	for i := range n {
		jobs = append(jobs, copyJob{src: fmt.Sprintf("oci:%s:img%d", src, i), dst: fmt.Sprintf("oci-layout:%s:same", dst)})
	}
	for _, err := range runConcurrently(t, jobs) {
		if err != nil {
			t.Error(err)
		}
	}
	entries := checkLayout(t, dst)
	if len(entries) != 1 {
		t.Fatalf("index.json has %d entries after %d writes of one tag, want 1: %+v", len(entries), n, entries)
	}
	if entries[0].Name != "same" || !slices.Contains(want, entries[0].Digest) {
		t.Errorf("the one entry is %q %s, want tag %q on one of %v", entries[0].Name, entries[0].Digest, "same", want)
	}
}
