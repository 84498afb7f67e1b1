package integration

import (
	"path/filepath"
	"slices"
	"testing"
)

// TestSyncReferrers: with --referrers each synced image's referrer graph
// (an SBOM, an attestation, a signature of the SBOM) arrives whole, layout
// → layout and layout → registry (with the referrers API) → layout, and a
// re-sync of unchanged images carries it again without changing it;
// without --referrers the destination holds none.
func TestSyncReferrers(t *testing.T) {
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	const name = "quay.io/ns/app:v1"
	ioWriteImage(t, src, name, "amd64", []ioLayer{{files: map[string]string{"app": "referred"}}})
	sbom := refAttachCLI(t, "oci-layout:"+src+":"+name, "application/spdx+json", `{"spdxVersion":"SPDX-2.3"}`)
	refAttachCLI(t, "oci-layout:"+src+":"+name, "application/vnd.in-toto+json", `{"_type":"https://in-toto.io/Statement/v1"}`)
	refAttachCLI(t, "oci-layout:"+src+":@"+sbom.String(), "application/vnd.example.signature", `{"sig":"of the sbom"}`)
	want := refLayoutGraph(t, "oci-layout:"+src+":"+name)
	if len(want) != 3 {
		t.Fatalf("source graph %v, want 3 referrers", want)
	}
	host := startReferrersRegistry(t)
	mustSync(t, "--referrers", src, "docker://"+host+"/up")
	upstream := "docker://" + host + "/up/ns/app"

	for _, c := range []struct {
		name      string
		src       string
		entry     string
		referrers bool
	}{
		{"layout to layout", src, name, true},
		{"registry to layout", upstream, host + "/up/ns/app:v1", true},
		{"without --referrers", src, name, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "mirror")
			args := []string{c.src, dest}
			if c.referrers {
				args = append([]string{"--referrers"}, args...)
			}
			for run, action := range []string{"copied", "unchanged"} {
				rep := mustSync(t, args...)
				if rep.Totals.Images != 1 || string(rep.Images[0].Action) != action {
					t.Fatalf("run %d: %+v, want the image %s", run, rep.Images, action)
				}
				got := refLayoutGraph(t, "oci-layout:"+dest+":"+c.entry)
				switch {
				case c.referrers && (!slices.Equal(got, want) || rep.Images[0].Referrers != 3):
					t.Errorf("run %d: graph %v (report: %d referrers), want %v", run, got, rep.Images[0].Referrers, want)
				case !c.referrers && len(got) != 0:
					t.Errorf("run %d: graph %v without --referrers, want none", run, got)
				}
				ioVerifyCLI(t, dest)
			}
		})
	}
}
