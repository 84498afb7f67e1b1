package integration

import (
	"path/filepath"
	"testing"

	"github.com/ocilayout/ocilayout/mirror"
)

// TestSyncFromDockerStorage: sync reads every named image of a Docker
// store a real dockerd wrote (through a read-only bind mount, no daemon)
// into a layout under its Docker names; a re-sync finds them unchanged;
// --tags picks names; the store is not changed.
func TestSyncFromDockerStorage(t *testing.T) {
	root, imgs, _ := dsLoaded(t, "vfs")
	before := ioTreeState(t, root)
	ro := dsReadOnly(t, root)
	src := "docker-storage:" + ro
	dest := filepath.Join(t.TempDir(), "mirror")

	rep := mustSync(t, src, dest)
	if rep.Totals.Copied != len(imgs) {
		t.Fatalf("first sync: %+v, want %d copied", rep.Totals, len(imgs))
	}
	for _, img := range imgs {
		if d := ioTag(t, dest, img.name); d == "" {
			t.Errorf("%s holds no digest for %s", dest, img.name)
		}
	}
	ioVerifyCLI(t, dest)
	mustRunCLI(t, "copy", "--quiet", "--insecure-policy", "oci-layout:"+dest+":"+imgs[0].name, "oci-layout:"+t.TempDir()+":x")

	rep = mustSync(t, src, dest)
	if rep.Totals.Unchanged != len(imgs) || rep.Totals.Copied != 0 {
		t.Errorf("re-sync: %+v, want %d unchanged", rep.Totals, len(imgs))
	}

	picked := filepath.Join(t.TempDir(), "picked")
	rep = mustSync(t, "--tags", "^2$", src, picked)
	if a := actions(rep); len(a) != 1 || a["registry.example.com/ns/tool:2"] != mirror.ActionCopied {
		t.Errorf("--tags ^2$: %v, want registry.example.com/ns/tool:2 alone copied", a)
	}

	if _, stderr, err := runCLI(t, append(append([]string{}, syncArgs...), src+":app:v1", dest)...); err == nil {
		t.Errorf("sync of one docker-storage image name succeeded, want a usage error (stderr %q)", stderr)
	}
	if after := ioTreeState(t, root); after != before {
		t.Errorf("sync changed the store under %s", root)
	}
}
