package integration

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/mirror"
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestSyncPlatforms: --platform copies a list as a list of the instances
// of the platforms asked for (a variant, when given, must match), stored
// under its own digest; a re-sync of it costs one manifest HEAD, no GET,
// no blob; a list with none of the platforms fails, naming them.
func TestSyncPlatforms(t *testing.T) {
	reg := startSyncRegistry(t)
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	base := ioLayer{files: map[string]string{"etc/os-release": "ID=platforms\n"}}
	var insts []imgspecv1.Descriptor
	arch := map[digest.Digest]string{}
	for _, a := range []struct{ arch, variant string }{{"amd64", ""}, {"arm64", "v8"}, {"arm", "v7"}} {
		d := ioWriteImage(t, src, "", a.arch, []ioLayer{base, {files: map[string]string{"app": a.arch + a.variant}}})
		d.Platform = &imgspecv1.Platform{OS: "linux", Architecture: a.arch, Variant: a.variant}
		insts = append(insts, d)
		arch[d.Digest] = strings.TrimSuffix("linux/"+a.arch+"/"+a.variant, "/")
	}
	ioWriteIndex(t, src, "quay.io/ns/multi:1.0", insts)
	mustSync(t, "--all", "--preserve-digests", src, "docker://"+reg.host+"/up")
	repo := "docker://" + reg.host + "/up/ns/multi"
	entry := reg.host + "/up/ns/multi:1.0"

	for _, c := range []struct {
		name      string
		platforms []string
		want      []string // platforms of the instances held
		fails     string   // error wanted instead
	}{
		{"one", []string{"linux/arm64"}, []string{"linux/arm64/v8"}, ""},
		{"two, with a variant", []string{"linux/amd64", "linux/arm/v7"}, []string{"linux/amd64", "linux/arm/v7"}, ""},
		{"variant that does not match", []string{"linux/arm/v6"}, nil, "no image for linux/arm/v6"},
		{"absent", []string{"linux/s390x"}, nil, "no image for linux/s390x"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "mirror")
			var args []string
			for _, p := range c.platforms {
				args = append(args, "--platform", p)
			}
			args = append(args, repo, dest)
			if c.fails != "" {
				rep, _, err := runSync(t, args...)
				if err == nil || rep == nil || rep.Totals.Failed != 1 || !strings.Contains(rep.Images[0].Error, c.fails) {
					t.Fatalf("sync %v: %v, report %+v; want the image failed with %q", c.platforms, err, rep, c.fails)
				}
				return
			}
			rep := mustSync(t, args...)
			if rep.Totals.Copied != 1 {
				t.Fatalf("first sync: %+v, want one copied", rep.Images)
			}
			held := tagsOf(t, checkLayout(t, dest))[entry]
			var idx imgspecv1.Index
			ioMust(t, json.Unmarshal([]byte(mustRunCLI(t, "inspect", "--raw", "oci-layout:"+dest+":"+entry)), &idx), "decoding the index held")
			var got []string
			for _, m := range idx.Manifests {
				got = append(got, arch[m.Digest])
				mustRunCLI(t, "inspect", "--raw", "oci-layout:"+dest+":@"+m.Digest.String()) // the instance is there
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("the index held lists %v, want %v", got, c.want)
			}
			ioVerifyCLI(t, dest)

			reg.reset()
			again := mustSync(t, args...)
			counts, gets := reg.snapshot()
			if again.Totals.Unchanged != 1 || again.Images[0].Digest != held {
				t.Errorf("re-sync: %+v, want unchanged at %s", again.Images, held)
			}
			if counts["manifest HEAD"] != 1 || counts["manifest GET"] != 0 || len(gets) != 0 {
				t.Errorf("re-sync made %v (blobs %v), want one manifest HEAD only", counts, gets)
			}

			// Other platforms asked for: copied again, not taken as unchanged.
			other := mustSync(t, "--platform", "linux/amd64", "--platform", "linux/arm64", "--platform", "linux/arm", repo, dest)
			if a := actions(other); a[entry] != mirror.ActionCopied {
				t.Errorf("sync with other platforms: %s, want copied", a[entry])
			}
		})
	}
	if _, stderr, err := runCLI(t, append(append([]string{}, syncArgs...), "--all", "--platform", "linux/amd64", repo, filepath.Join(tmp, "x"))...); err == nil || !strings.Contains(stderr, "--all conflicts with --platform") {
		t.Errorf("--all with --platform: %v, %s; want refused", err, stderr)
	}
}
