package integration

import (
	"path/filepath"
	"strings"
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

// TestSyncFromDockerStorageToRegistry: sync pushes every named image of a
// Docker store a real dockerd wrote (read-only, no daemon) to a registry
// under REG/PREFIX/REPO:TAG, and each pulls back into a layout that
// verifies. With --preserve-digests the registry holds the digests a sync
// into a layout gives them (the store's layers are uncompressed, and are
// pushed so), and a re-sync finds them unchanged; by default
// containers/image gzips the layers for the registry, so the images there
// have digests of their own. The store is not changed.
func TestSyncFromDockerStorageToRegistry(t *testing.T) {
	root, imgs, _ := dsLoaded(t, "vfs")
	before := ioTreeState(t, root)
	src := "docker-storage:" + dsReadOnly(t, root)
	layout := filepath.Join(t.TempDir(), "layout")
	mustSync(t, src, layout)
	for _, tc := range []struct {
		name     string
		flags    []string
		sameAsIn bool // the registry's digests are the layout's
	}{
		{"preserve-digests", []string{"--preserve-digests"}, true},
		{"compressed", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := startSyncRegistry(t)
			out := "docker://" + reg.host + "/mirror"
			rep := mustSync(t, append(append([]string{}, tc.flags...), src, out)...)
			if rep.Totals.Copied != len(imgs) {
				t.Fatalf("first sync: %+v, want %d copied", rep.Totals, len(imgs))
			}
			pulled := filepath.Join(t.TempDir(), "pulled")
			for _, img := range imgs {
				_, repoTag, _ := strings.Cut(img.name, "/") // docker.io/library/app:v1 -> library/app:v1
				name := reg.host + "/mirror/" + repoTag
				got, inLayout := ioRemoteDigest(t, "docker://"+name), ioTag(t, layout, img.name)
				if got == "" || (got == inLayout) != tc.sameAsIn {
					t.Errorf("registry has %q for %s, the layout sync %q; want them equal: %v", got, name, inLayout, tc.sameAsIn)
				}
				mustRunCLI(t, "copy", "--quiet", "--insecure-policy", "--src-tls-verify=false", "docker://"+name, "oci-layout:"+pulled+":"+repoTag)
			}
			ioVerifyCLI(t, pulled)
			if tc.sameAsIn {
				if rep := mustSync(t, append(append([]string{}, tc.flags...), src, out)...); rep.Totals.Unchanged != len(imgs) || rep.Totals.Copied != 0 {
					t.Errorf("re-sync: %+v, want %d unchanged", rep.Totals, len(imgs))
				}
			}
		})
	}
	if after := ioTreeState(t, root); after != before {
		t.Errorf("sync changed the store under %s", root)
	}
}
