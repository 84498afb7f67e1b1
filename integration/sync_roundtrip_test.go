package integration

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/ocilayout/ocilayout/mirror"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/manifest"
)

// TestSyncLayoutRegistryLayout syncs a layout (a fully qualified name, a
// plain name, a multi-arch index) out to docker://REG/mirror and back
// into a new layout, and into another layout directly: every digest is
// kept, names map as documented, and a second push is a no-op.
func TestSyncLayoutRegistryLayout(t *testing.T) {
	reg := startSyncRegistry(t)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	base := ioLayer{files: map[string]string{"etc/os-release": "ID=roundtrip\n"}}
	single := ioWriteImage(t, src, "quay.io/ns/app:v1", "amd64", []ioLayer{base, {files: map[string]string{"app": "v1"}}}).Digest
	plain := ioWriteImage(t, src, "app:v2", "amd64", []ioLayer{base, {files: map[string]string{"app": "v2"}}}).Digest
	amd := ioWriteImage(t, src, "", "amd64", []ioLayer{base, {files: map[string]string{"app": "amd64"}}})
	arm := ioWriteImage(t, src, "", "arm64", []ioLayer{base, {files: map[string]string{"app": "arm64"}}})
	multi := ioWriteIndex(t, src, "quay.io/ns/multi:1.0", []imgspecv1.Descriptor{amd, arm})

	out := "docker://" + reg.host + "/mirror"
	rep := mustSync(t, "--all", "--preserve-digests", src, out)
	want := map[string]digest.Digest{
		reg.host + "/mirror/ns/app:v1":    single,
		reg.host + "/mirror/app:v2":       plain,
		reg.host + "/mirror/ns/multi:1.0": multi,
	}
	if rep.Totals.Copied != 3 {
		t.Fatalf("push: %+v, want 3 copied", rep.Totals)
	}
	for name, d := range want {
		if got := ioRemoteDigest(t, "docker://"+name); got != d {
			t.Errorf("registry has %s for %s, want %s", got, name, d)
		}
	}
	reg.reset()
	if rep := mustSync(t, "--all", "--preserve-digests", src, out); rep.Totals.Unchanged != 3 {
		t.Errorf("second push: %+v, want 3 unchanged", rep.Totals)
	}
	if counts, gets := reg.snapshot(); len(gets) != 0 || counts["manifest GET"] != 0 || counts["blob HEAD"] != 0 {
		t.Errorf("second push made requests %v, want manifest HEADs only", counts)
	}

	back := filepath.Join(tmp, "back")
	for _, repo := range []string{"mirror/ns/app", "mirror/app", "mirror/ns/multi"} {
		mustSync(t, "--all", "--preserve-digests", "docker://"+reg.host+"/"+repo, back)
	}
	if got := tagsOf(t, checkLayout(t, back)); !sameDigests(got, want) {
		t.Errorf("layout → registry → layout holds %v, want %v", got, want)
	}
	for _, d := range []digest.Digest{amd.Digest, arm.Digest} { // both platforms came back
		mustRunCLI(t, "inspect", "--raw", "oci-layout:"+back+":@"+d.String())
	}
	ioVerifyCLI(t, back)

	direct := filepath.Join(tmp, "direct")
	mustSync(t, "--all", src, "oci-layout:"+direct)
	wantDirect := map[string]digest.Digest{"quay.io/ns/app:v1": single, "app:v2": plain, "quay.io/ns/multi:1.0": multi}
	if got := tagsOf(t, checkLayout(t, direct)); !sameDigests(got, wantDirect) {
		t.Errorf("layout → layout holds %v, want %v", got, wantDirect)
	}
	if rep := mustSync(t, "--all", src, direct); rep.Totals.Unchanged != 3 {
		t.Errorf("layout → layout again: %+v, want 3 unchanged", rep.Totals)
	}
	ioVerifyCLI(t, direct)

	// Without --all the layout holds the instance for this platform, not
	// the index: a re-sync still finds it unchanged, with one manifest GET
	// (the index, to see which instance it names now) and no blob.
	system := filepath.Join(tmp, "system")
	multiRepo := "docker://" + reg.host + "/mirror/ns/multi"
	if rep := mustSync(t, multiRepo, system); rep.Totals.Copied != 1 || rep.Images[0].Digest == multi {
		t.Fatalf("sync without --all: %+v, want the one platform's image copied", rep.Images)
	}
	reg.reset()
	if rep := mustSync(t, multiRepo, system); rep.Totals.Unchanged != 1 {
		t.Errorf("re-sync without --all: %+v, want unchanged", rep.Images)
	}
	if counts, gets := reg.snapshot(); len(gets) != 0 || counts["manifest GET"] != 1 || counts["manifest HEAD"] != 1 {
		t.Errorf("re-sync without --all made requests %v, want one manifest HEAD and one GET", counts)
	}
}

func sameDigests(got, want map[string]digest.Digest) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestSyncYAML reads skopeo sync's YAML (images, images-by-tag-regex,
// images-by-semver, tls-verify) and mirrors exactly the images it names.
func TestSyncYAML(t *testing.T) {
	reg := startSyncRegistry(t)
	scratch := filepath.Join(t.TempDir(), "scratch")
	for _, tag := range []string{"t00", "t01", "t02", "t03", "t04", "t05"} {
		pushSyncImage(t, reg, scratch, "ns/app", tag, 0)
	}
	for _, tag := range []string{"1.0.0", "1.2.0", "2.0.0", "latest"} {
		pushSyncImage(t, reg, scratch, "ns/sem", tag, 0)
	}
	file := filepath.Join(t.TempDir(), "sync.yml")
	doc := reg.host + `:
  tls-verify: false
  images:
    ns/app: ["t01", "t02"]
  images-by-tag-regex:
    ns/app: ^t0[45]$
  images-by-semver:
    ns/sem: ">= 1.1"
`
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "mirror")
	mustRunCLI(t, "sync", "--insecure-policy", "--quiet", "--src", "yaml", file, dest)
	var names []string
	for n := range tagsOf(t, checkLayout(t, dest)) {
		names = append(names, n)
	}
	sort.Strings(names)
	var want []string
	for _, n := range []string{"ns/app:t01", "ns/app:t02", "ns/app:t04", "ns/app:t05", "ns/sem:1.2.0", "ns/sem:2.0.0"} {
		want = append(want, reg.host+"/"+n)
	}
	if len(names) != len(want) {
		t.Fatalf("YAML sync holds %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Errorf("YAML sync holds %v, want %v", names, want)
			break
		}
	}
}

// TestSyncDockerSchema2: a Docker schema2 source is stored converted to
// OCI, under another digest than upstream's, and the entry records
// upstream's (io.github.ocilayout.sync.source-digest), so that a re-sync
// of an unchanged schema2 tag costs one HEAD and no other request, a new
// tag of it is only named, and a changed one is copied again.
func TestSyncDockerSchema2(t *testing.T) {
	reg := startSyncRegistry(t)
	scratch := filepath.Join(t.TempDir(), "scratch")
	push := func(tag, content string) {
		ioWriteImage(t, scratch, tag, "amd64", []ioLayer{{files: map[string]string{"a": "schema2"}}, {files: map[string]string{"b": content}}})
		ioCopy(t, "oci-layout:"+scratch+":"+tag, "docker://"+reg.host+"/ns/s2:"+tag, &copy.Options{ForceManifestMIMEType: manifest.DockerV2Schema2MediaType})
	}
	push("v1", "one")
	dest := filepath.Join(t.TempDir(), "mirror")
	src := "docker://" + reg.host + "/ns/s2"
	first := mustSync(t, src, dest)
	if first.Totals.Copied != 1 || first.Images[0].Digest == ioRemoteDigest(t, src+":v1") {
		t.Fatalf("first sync %+v: want one image copied, converted to OCI", first.Images)
	}
	stored := first.Images[0].Digest
	for _, step := range []struct {
		name     string
		upstream func()
		want     map[string]mirror.Action // by tag
		heads    int                      // manifest HEADs
		gets     int                      // manifest GETs
		blobs    int                      // blob GETs
	}{
		{"unchanged", func() {}, map[string]mirror.Action{"v1": mirror.ActionUnchanged}, 1, 0, 0},
		{"new tag of the same image", func() {
			ioCopy(t, src+":v1", src+":v1-alias", &copy.Options{PreserveDigests: true})
		}, map[string]mirror.Action{"v1": mirror.ActionUnchanged, "v1-alias": mirror.ActionCopied}, 2, 0, 0},
		{"changed upstream", func() { push("v1", "two") }, map[string]mirror.Action{"v1": mirror.ActionCopied, "v1-alias": mirror.ActionUnchanged}, 2, 1, 2},
		{"unchanged after the change", func() {}, map[string]mirror.Action{"v1": mirror.ActionUnchanged, "v1-alias": mirror.ActionUnchanged}, 2, 0, 0},
	} {
		t.Run(step.name, func(t *testing.T) {
			step.upstream()
			reg.reset()
			rep := mustSync(t, src, dest)
			counts, gets := reg.snapshot()
			a := actions(rep)
			for tag, want := range step.want {
				if got := a[reg.host+"/ns/s2:"+tag]; got != want {
					t.Errorf("%s: %s, want %s (report %+v)", tag, got, want, rep.Images)
				}
			}
			if counts["manifest HEAD"] != step.heads || counts["manifest GET"] != step.gets || counts["blob GET"] != step.blobs {
				t.Errorf("requests %v (blobs %v), want %d manifest HEADs, %d manifest GETs, %d blob GETs", counts, gets, step.heads, step.gets, step.blobs)
			}
			for _, r := range rep.Images {
				if r.Action == mirror.ActionUnchanged && step.name == "unchanged" && r.Digest != stored {
					t.Errorf("%s reported %s, want the stored %s", r.Destination, r.Digest, stored)
				}
			}
			ioVerifyCLI(t, dest)
		})
	}
}
