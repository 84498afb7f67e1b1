package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/ocilayout/ocilayout/layout"
)

// TestKillDuringRegistryPull is TestKillDuringCopy for the direct route
// from a registry into a layout (registrycopy, which ocilayout copy takes
// when nothing is converted): 16 pulls SIGKILLed at points spread over
// the blob writes and the commit, each followed by the same checks (the
// layout opens, every entry verifies, every blob file holds its digest's
// content). A final pull must then succeed, by the direct route.
func TestKillDuringRegistryPull(t *testing.T) {
	const iterations = 16
	reg := fixture.StartRegistry(t)
	src := filepath.Join(t.TempDir(), "src")
	dst := filepath.Join(t.TempDir(), "dst")
	l, err := layout.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()

	killed := 0
	checked := map[string]bool{}
	for i := range iterations {
		name := fmt.Sprintf("img%d", i)
		writeRandomImage(t, src, name, imageSpec{seed: 2000 + uint64(i), layers: 4, layerSize: 1 << 20})
		image := fmt.Sprintf("docker://%s/kill/%s:v1", reg, name)
		mustRunCLI(t, "copy", "--quiet", "--insecure-policy", "--dest-tls-verify=false", "oci-layout:"+src+":"+name, image)
		if copyAndKill(t, image, fmt.Sprintf("oci-layout:%s:t%d", dst, i%3), killSchedule(i), "--src-tls-verify=false") {
			killed++
		}
		checkAfterKill(t, dst, i, checked)
	}
	t.Logf("%d of %d pulls killed", killed, iterations)
	if killed == 0 {
		t.Errorf("no pull was interrupted: the schedule does not test crashes")
	}

	final := writeRandomImage(t, src, "final", imageSpec{seed: 2999, layers: 4, layerSize: 1 << 20})
	image := "docker://" + reg + "/kill/final:v1"
	mustRunCLI(t, "copy", "--quiet", "--insecure-policy", "--dest-tls-verify=false", "oci-layout:"+src+":final", image)
	_, stderr, err := runCLI(t, "copy", "--insecure-policy", "--src-tls-verify=false", image, "oci-layout:"+dst+":final")
	if err != nil {
		t.Fatalf("final pull: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "Copying directly from the registry") {
		t.Errorf("the final pull did not take the direct route:\n%s", stderr)
	}
	if tags := tagsOf(t, checkLayout(t, dst)); tags["final"] != final {
		t.Errorf("after the kills, a pull to final left %s, want %s", tags["final"], final)
	}
}
