package integration

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
)

// TestDockerStorageMigrate runs the README's migration recipe: images out
// of a stopped Docker's store into a layout, then from the layout into a
// containers/storage store, the one podman runs from. The image keeps its
// identity all the way: podman's image ID is the config digest, which is
// Docker's image ID. Then policy.json scopes: a namespace rejects what it
// covers and nothing else; an image-ID scope is refused.
func TestDockerStorageMigrate(t *testing.T) {
	root, _, reported := dsLoaded(t, "vfs")
	before := ioTreeState(t, root)
	store, spec := ioStore(t)
	lay := filepath.Join(t.TempDir(), "migrate")
	for _, name := range []string{"docker.io/library/app:v1", "registry.example.com/ns/tool:2"} {
		ioCopyCLI(t, "docker-storage:"+root+":"+name, "oci-layout:"+lay+":"+name)
		ioCopyCLI(t, "oci-layout:"+lay+":"+name, "containers-storage:"+spec+name)
		img, err := store.Image(name)
		ioMust(t, err, "finding %s in the containers/storage store", name)
		short := strings.TrimPrefix(name, "docker.io/library/")
		if want := dsDockerID(t, reported, short).ID; "sha256:"+img.ID != want {
			t.Errorf("%s: podman's image ID %s, Docker's %s", name, img.ID, want)
		}
	}
	ioVerifyCLI(t, lay)

	// policy.json scopes match the normalized names, as for docker:.
	policy := filepath.Join(t.TempDir(), "policy.json")
	fixture.WriteFile(t, policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}],
		"transports":{"docker-storage":{"docker.io/library":[{"type":"reject"}]}}}`))
	_, stderr, err := runCLI(t, "copy", "--quiet", "--policy", policy, "docker-storage:"+root+":app:v1", "oci-layout:"+t.TempDir()+":x")
	if err == nil || !strings.Contains(stderr, "rejected") {
		t.Errorf("a docker.io/library scope did not reject app:v1: %v, %s", err, stderr)
	}
	mustRunCLI(t, "copy", "--quiet", "--policy", policy, "docker-storage:"+root+":registry.example.com/ns/tool:2", "oci-layout:"+t.TempDir()+":x")
	fixture.WriteFile(t, policy, []byte(`{"default":[{"type":"insecureAcceptAnything"}],
		"transports":{"docker-storage":{"`+dsDockerID(t, reported, "app:v1").ID+`":[{"type":"reject"}]}}}`))
	if _, stderr, err := runCLI(t, "copy", "--quiet", "--policy", policy, "docker-storage:"+root+":app:v1", "oci-layout:"+t.TempDir()+":x"); err == nil || !strings.Contains(stderr, "invalid policy") {
		t.Errorf("an image-ID scope was accepted: %v, %s", err, stderr)
	}

	if after := ioTreeState(t, root); after != before {
		t.Errorf("migrating changed the Docker store under %s", root)
	}
}
