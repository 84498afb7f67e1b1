package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/mirror"
	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/copy"
)

// TestSyncIncremental mirrors a 50-tag repository into a layout and then
// re-syncs it as it changes upstream, counting at the registry's handler
// what each run fetched: everything once; nothing but one manifest HEAD
// per tag when nothing changed; nothing at all for immutable tags; only
// the new blobs of a changed tag; nothing in a dry run; and with --prune
// the tag deleted upstream goes.
func TestSyncIncremental(t *testing.T) {
	reg := startSyncRegistry(t)
	const repo = "ns/app"
	src := "docker://" + reg.host + "/" + repo
	images := pushSyncTags(t, reg, repo, 50)
	dest := filepath.Join(t.TempDir(), "mirror")
	entry := func(tag string) string { return reg.host + "/" + repo + ":" + tag }

	t.Run("first", func(t *testing.T) {
		reg.reset()
		rep := mustSync(t, src, dest)
		if rep.Totals.Copied != 50 || rep.Totals.Images != 50 {
			t.Fatalf("first sync: %+v, want 50 copied", rep.Totals)
		}
		want := map[digest.Digest]bool{}
		for tag, img := range images {
			if got := ioTag(t, dest, entry(tag)); got != img.digest {
				t.Errorf("%s holds %s, want %s", entry(tag), got, img.digest)
			}
			for _, b := range img.blobs {
				want[b] = true
			}
		}
		_, gets := reg.snapshot()
		for d, n := range gets {
			if n != 1 || !want[d] {
				t.Errorf("blob %s fetched %d times (part of an image: %v), want once", d, n, want[d])
			}
		}
		if len(gets) != len(want) {
			t.Errorf("fetched %d distinct blobs, the images have %d", len(gets), len(want))
		}
		ioVerifyCLI(t, dest)
	})

	t.Run("unchanged", func(t *testing.T) {
		reg.reset()
		rep := mustSync(t, src, dest)
		counts, _ := reg.snapshot()
		if rep.Totals.Unchanged != 50 {
			t.Errorf("re-sync: %+v, want 50 unchanged", rep.Totals)
		}
		if n := counts["blob GET"] + counts["blob HEAD"] + counts["manifest GET"]; n != 0 {
			t.Errorf("re-sync with nothing changed made %d blob and manifest GET requests (%v), want 0", n, counts)
		}
		if n := counts["manifest HEAD"]; n > 50 {
			t.Errorf("re-sync made %d manifest HEADs for 50 tags, want at most 50", n)
		}
		// The HEADs share one client: no GET /v2/ per tag (the tag list's
		// client pings once).
		if n := reg.pingCount(); n > 2 {
			t.Errorf("re-sync of 50 unchanged tags pinged the registry %d times, want at most 2", n)
		}
	})

	t.Run("immutable", func(t *testing.T) {
		reg.reset()
		rep := mustSync(t, "--immutable-tags", "^t[0-9]+$", src, dest)
		counts, _ := reg.snapshot()
		if rep.Totals.Skipped != 50 {
			t.Errorf("immutable re-sync: %+v, want 50 skipped", rep.Totals)
		}
		if len(counts) != 0 {
			t.Errorf("immutable re-sync made manifest or blob requests: %v, want none", counts)
		}
	})

	t.Run("one-changed", func(t *testing.T) {
		scratch := filepath.Join(t.TempDir(), "scratch")
		old := images["t07"]
		images["t07"] = pushSyncImage(t, reg, scratch, repo, "t07", 1)
		reg.reset()
		rep := mustSync(t, src, dest)
		if a := actions(rep); rep.Totals.Copied != 1 || a[entry("t07")] != mirror.ActionCopied || rep.Totals.Unchanged != 49 {
			t.Fatalf("after t07 changed: %+v, t07 %s; want t07 alone copied", rep.Totals, a[entry("t07")])
		}
		if got := ioTag(t, dest, entry("t07")); got != images["t07"].digest || got == old.digest {
			t.Errorf("t07 holds %s, want the new %s", got, images["t07"].digest)
		}
		held := map[digest.Digest]bool{}
		for tag, img := range images {
			if tag != "t07" {
				for _, b := range img.blobs {
					held[b] = true
				}
			}
		}
		for _, b := range old.blobs {
			held[b] = true
		}
		var newBlobs []digest.Digest
		for _, b := range images["t07"].blobs {
			if !held[b] {
				newBlobs = append(newBlobs, b)
			}
		}
		counts, gets := reg.snapshot()
		if counts["manifest GET"] != 1 {
			t.Errorf("re-sync of one changed tag made %d manifest GETs, want 1 (the check's GET is reused by the copy)", counts["manifest GET"])
		}
		if len(gets) != len(newBlobs) {
			t.Errorf("fetched blobs %v, want exactly the new ones %v", gets, newBlobs)
		}
		for _, b := range newBlobs {
			if gets[b] != 1 {
				t.Errorf("new blob %s fetched %d times, want once", b, gets[b])
			}
		}
		// The old t07's manifest, config and unique layer are reclaimed.
		if rep.Reclaimed == nil || rep.Reclaimed.Blobs != 3 {
			t.Errorf("reclaimed %+v after moving t07, want the 3 blobs only the old image used", rep.Reclaimed)
		}
		ioVerifyCLI(t, dest)
	})

	t.Run("retag", func(t *testing.T) {
		// Upstream tags t00's image again as t50: the layout has it, so it
		// is named without a copy: one HEAD, no manifest GET, no blob.
		ioCopy(t, src+":t00", src+":t50", &copy.Options{PreserveDigests: true})
		images["t50"] = images["t00"]
		reg.reset()
		rep := mustSync(t, src, dest)
		if a := actions(rep); a[entry("t50")] != mirror.ActionCopied || rep.Totals.Unchanged != 50 {
			t.Fatalf("after the retag: t50 %s, %+v; want t50 copied, 50 unchanged", a[entry("t50")], rep.Totals)
		}
		counts, _ := reg.snapshot()
		if counts["blob GET"]+counts["blob HEAD"]+counts["manifest GET"] != 0 || counts["manifest HEAD"] != 51 {
			t.Errorf("naming an image the layout holds made requests %v, want 51 manifest HEADs only", counts)
		}
		if got := ioTag(t, dest, entry("t50")); got != images["t00"].digest {
			t.Errorf("t50 holds %s, want t00's %s", got, images["t00"].digest)
		}
	})

	t.Run("dry-run-and-prune", func(t *testing.T) {
		scratch := filepath.Join(t.TempDir(), "scratch")
		before := ioTag(t, dest, entry("t08"))
		images["t08"] = pushSyncImage(t, reg, scratch, repo, "t08", 1)
		reg.registryDelete(t, repo+"/manifests/"+images["t09"].digest.String())
		reg.reset()
		rep := mustSync(t, "--dry-run", "--prune", src, dest)
		a := actions(rep)
		if a[entry("t08")] != mirror.ActionWouldCopy || a[entry("t09")] != mirror.ActionWouldPrune || rep.Totals.WouldCopy != 1 || rep.Totals.WouldPrune != 1 {
			t.Errorf("dry run: t08 %s, t09 %s, %+v; want t08 would-copy, t09 would-prune", a[entry("t08")], a[entry("t09")], rep.Totals)
		}
		counts, _ := reg.snapshot()
		// One GET, of the changed t08's manifest: is it a list whose
		// instance for this platform is what the layout holds?
		if counts["blob GET"] != 0 || counts["manifest GET"] != 1 || counts["manifest HEAD"] != 50 {
			t.Errorf("dry run requests %v: want 50 manifest HEADs (t09 is gone) and the changed tag's manifest GET", counts)
		}
		if got := ioTag(t, dest, entry("t08")); got != before {
			t.Errorf("the dry run changed t08 to %s", got)
		}
		ioTag(t, dest, entry("t09")) // still there

		rep = mustSync(t, "--prune", src, dest)
		a = actions(rep)
		if a[entry("t08")] != mirror.ActionCopied || a[entry("t09")] != mirror.ActionPruned {
			t.Errorf("prune run: t08 %s, t09 %s; want copied and pruned", a[entry("t08")], a[entry("t09")])
		}
		if _, ok := tagsOf(t, checkLayout(t, dest))[entry("t09")]; ok {
			t.Errorf("%s still holds t09 after --prune", dest)
		}
		if n := len(tagsOf(t, checkLayout(t, dest))); n != 50 {
			t.Errorf("%s holds %d names, want 50 (t00-t50 but t09)", dest, n)
		}
		ioVerifyCLI(t, dest)
	})
}

// TestSyncKillAndResume kills a sync with SIGKILL half-way (from the
// registry's handler, at the 40th blob request, so the point is exact),
// then runs it again: the rerun finishes, the layout verifies, and no blob
// that the killed run had stored is fetched again.
func TestSyncKillAndResume(t *testing.T) {
	reg := startSyncRegistry(t)
	images := pushSyncTags(t, reg, "ns/app", 30)
	dest := filepath.Join(t.TempDir(), "mirror")
	src := "docker://" + reg.host + "/ns/app"

	cmd := cliCommand(t, append(append([]string{}, syncArgs...), "--quiet", src, dest)...)
	reg.reset()
	reg.mu.Lock()
	reg.onBlobGet = func(n int) bool {
		if n == 40 {
			_ = cmd.Process.Kill()
		}
		return n >= 40
	}
	reg.mu.Unlock()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the sync was not killed: %v", err)
	}
	reg.mu.Lock()
	reg.onBlobGet = nil
	reg.mu.Unlock()
	_, firstGets := reg.snapshot()
	stored := map[digest.Digest]bool{}
	for _, b := range layoutBlobs(t, dest) {
		stored[b] = true
	}
	if len(stored) == 0 {
		t.Fatalf("the killed sync stored no blob: the kill came too early to test a resume")
	}
	ioVerifyCLI(t, dest) // sound even right after the kill

	reg.reset()
	rep := mustSync(t, src, dest)
	if rep.Totals.Failed != 0 || rep.Totals.Copied+rep.Totals.Unchanged != 30 || rep.Totals.Unchanged == 0 {
		t.Errorf("rerun: %+v, want 30 images, some unchanged from the killed run", rep.Totals)
	}
	_, gets := reg.snapshot()
	for d, n := range gets {
		if stored[d] {
			t.Errorf("blob %s was in the layout after the kill, yet fetched %d times again", d, n)
		}
		if n > 1 {
			t.Errorf("blob %s fetched %d times by the rerun", d, n)
		}
		if firstGets[d] > 0 && stored[d] {
			t.Errorf("blob %s fetched by both runs", d)
		}
	}
	for tag, img := range images {
		if got := ioTag(t, dest, reg.host+"/ns/app:"+tag); got != img.digest {
			t.Errorf("%s holds %s, want %s", tag, got, img.digest)
		}
	}
	ioVerifyCLI(t, dest)
}

// TestSyncKeepGoing breaks one tag (its unique layer deleted from the
// registry): without --keep-going the sync stops and names it; with it,
// every other tag is synced, the exit status is 1 and the one error line
// names the broken image.
func TestSyncKeepGoing(t *testing.T) {
	reg := startSyncRegistry(t)
	images := pushSyncTags(t, reg, "ns/app", 10)
	broken := images["t03"]
	reg.registryDelete(t, "ns/app/blobs/"+broken.blobs[len(broken.blobs)-1].String())
	src := "docker://" + reg.host + "/ns/app"
	brokenName := "docker://" + reg.host + "/ns/app:t03"

	dest := filepath.Join(t.TempDir(), "stop")
	_, stderr, err := runCLI(t, append(append([]string{}, syncArgs...), src, dest)...)
	if err == nil || !strings.Contains(stderr, brokenName) {
		t.Errorf("sync with a broken tag: %v, stderr %q; want a failure naming %s", err, stderr, brokenName)
	}

	dest = filepath.Join(t.TempDir(), "keep-going")
	rep, stderr, err := runSync(t, "--keep-going", src, dest)
	if err == nil || !strings.HasSuffix(err.Error(), "exit status 1") {
		t.Errorf("--keep-going with a broken tag exited with %v, want status 1", err)
	}
	if lines := strings.Split(strings.TrimSpace(stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], brokenName) || !strings.Contains(lines[0], "1 of 10 images failed") {
		t.Errorf("stderr %q: want one line naming %s", stderr, brokenName)
	}
	if rep.Totals.Copied != 9 || rep.Totals.Failed != 1 || actions(rep)[reg.host+"/ns/app:t03"] != mirror.ActionFailed {
		t.Errorf("report %+v, want 9 copied and t03 failed", rep.Totals)
	}
	tags := tagsOf(t, checkLayout(t, dest))
	for tag, img := range images {
		got, ok := tags[reg.host+"/ns/app:"+tag]
		if tag == "t03" {
			if ok {
				t.Errorf("the broken t03 is in %s", dest)
			}
		} else if got != img.digest {
			t.Errorf("%s holds %s, want %s", tag, got, img.digest)
		}
	}
	ioVerifyCLI(t, dest)
}

// TestSyncParallel copies 50 tags with 4 copies at once into one layout
// (each its own index commit under the lock): none is lost.
func TestSyncParallel(t *testing.T) {
	reg := startSyncRegistry(t)
	images := pushSyncTags(t, reg, "ns/app", 50)
	dest := filepath.Join(t.TempDir(), "mirror")
	stdout := mustRunCLI(t, append(append([]string{}, syncArgs...), "--parallel", "4", "docker://"+reg.host+"/ns/app", dest)...)
	tags := tagsOf(t, checkLayout(t, dest))
	if len(tags) != 50 {
		t.Errorf("%s holds %d names after a --parallel 4 sync of 50 tags", dest, len(tags))
	}
	for tag, img := range images {
		name := reg.host + "/ns/app:" + tag
		if tags[name] != img.digest {
			t.Errorf("%s holds %s, want %s", name, tags[name], img.digest)
		}
		if line := fmt.Sprintf("copied %s %s\n", name, img.digest); !strings.Contains(stdout, line) {
			t.Errorf("output lacks the line %q", line)
		}
	}
	ioVerifyCLI(t, dest)
}
