package integration

import (
	"bytes"
	"encoding/json"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestFIFOInLayoutEndsCommands: with a FIFO where a layer, the manifest,
// index.json or oci-layout should be, every command (real processes)
// ends by itself within a deadline, with an error saying "not a regular
// file", instead of blocking in open(2) for a writer that never comes.
func TestFIFOInLayoutEndsCommands(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	writeRandomImage(t, src, "latest", imageSpec{seed: 41, layers: 1, layerSize: 64 << 10})
	good := filepath.Join(base, "good")
	mustRunCLI(t, "copy", "-q", "--insecure-policy", "oci:"+src+":latest", "oci-layout:"+good+":app")
	var idx imgspecv1.Index
	data, _ := os.ReadFile(filepath.Join(good, "index.json"))
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	m := idx.Manifests[0].Digest
	var man imgspecv1.Manifest
	data, _ = os.ReadFile(filepath.Join(good, "blobs", "sha256", m.Encoded()))
	if err := json.Unmarshal(data, &man); err != nil {
		t.Fatal(err)
	}
	layer := "blobs/sha256/" + man.Layers[0].Digest.Encoded()
	for i, tc := range []struct {
		fifo string
		args []string // LAYOUT stands for the layout's path
	}{
		{layer, []string{"verify", "LAYOUT"}},
		{layer, []string{"copy", "-q", "--insecure-policy", "oci-layout:LAYOUT:app", "dir:OUT"}},
		{"blobs/sha256/" + m.Encoded(), []string{"inspect", "oci-layout:LAYOUT:app"}},
		{"blobs/sha256/" + m.Encoded(), []string{"gc", "LAYOUT"}},
		{"index.json", []string{"list", "LAYOUT"}},
		{"index.json", []string{"copy", "-q", "--insecure-policy", "oci:" + src + ":latest", "oci-layout:LAYOUT:x"}},
		{"oci-layout", []string{"verify", "LAYOUT"}},
	} {
		dir := filepath.Join(base, "l"+string(rune('a'+i)))
		if out, err := osexec.Command("cp", "-a", good, dir).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
		p := filepath.Join(dir, tc.fifo)
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
		args := make([]string, len(tc.args))
		for j, a := range tc.args {
			args[j] = strings.NewReplacer("LAYOUT", dir, "OUT", filepath.Join(base, "out"+string(rune('a'+i)))).Replace(a)
		}
		c := cliCommand(t, args...)
		var out bytes.Buffer
		c.Stdout, c.Stderr = &out, &out
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		err := waitExit(t, c, 10*time.Second)
		if err == nil || !strings.Contains(out.String(), "not a regular file") {
			t.Errorf("%s with a FIFO as %s: %v\n%s\nwant a failure saying not a regular file", tc.args[0], tc.fifo, err, out.String())
		}
	}
}
