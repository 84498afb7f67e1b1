package integration

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/layouttest"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/opencontainers/go-digest"
	imgspec "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// The OCI distribution-spec conformance suite (bin/oci-conformance, built
// by make tools from the pinned module with integration/conformance-build.sh)
// against ocilayout serve: every workflow, push and content management
// included, against --allow-push; pull and content discovery against a
// read-only serve of a layout written beforehand. Zero failures in both.
func TestInteropServeConformance(t *testing.T) {
	suite := ioGoTool(t, "oci-conformance")

	t.Run("push", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "registry")
		// The suite leaves some uploads open, and an open upload holds a
		// write lease that keeps gc waiting until it times out.
		srv := startServe(t, dir, "--allow-push", "--upload-timeout", "3s")
		counts := runConformance(t, suite, srv.addr,
			"OCI_API_BLOBS_UPLOAD_CANCEL=true", "OCI_API_MANIFESTS_TAG_PARAM=true")
		if counts["Pass"] < 700 {
			t.Errorf("only %d tests passed with push: %v", counts["Pass"], counts)
		}
		// The suite deletes what it pushed; gc (once the abandoned uploads
		// have timed out) then leaves a sound layout.
		mustRunCLI(t, "gc", dir)
		ioVerifyCLI(t, dir)
	})

	t.Run("read-only", func(t *testing.T) {
		dir, ro := conformanceLayout(t)
		srv := startServe(t, dir)
		counts := runConformance(t, suite, srv.addr,
			"OCI_API_PUSH=false", "OCI_API_BLOBS_DELETE=false", "OCI_API_MANIFESTS_DELETE=false", "OCI_API_TAGS_DELETE=false",
			"OCI_RO_DATA_TAGS="+strings.Join(ro.tags, " "),
			"OCI_RO_DATA_MANIFESTS="+joinDigests(ro.manifests),
			"OCI_RO_DATA_BLOBS="+joinDigests(ro.blobs),
			"OCI_RO_DATA_REFERRERS="+joinDigests(ro.referrers))
		if counts["Pass"] < 10 {
			t.Errorf("only %d tests passed read-only: %v", counts["Pass"], counts)
		}
		if strings.Contains(srv.stderr(), `"PUT `) || strings.Contains(srv.stderr(), `"POST `) {
			t.Error("the read-only run wrote")
		}
	})
}

var conformanceCount = regexp.MustCompile(`(?m)^\s+(Disabled|Skip|Pass|FAIL|Error)\.+:\s+(\d+)$`)

// runConformance runs the suite against addr and fails the test unless it
// reports a pass with no failure or error. It returns the counts.
func runConformance(t *testing.T, suite, addr string, env ...string) map[string]int {
	t.Helper()
	cmd := exec.Command(suite)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "OCI_REGISTRY="+addr, "OCI_TLS=disabled",
		"OCI_RESULTS_DIR="+filepath.Join(cmd.Dir, "results"), "OCI_REPO1=conformance/repo1", "OCI_REPO2=conformance/repo2")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	counts := map[string]int{}
	for _, m := range conformanceCount.FindAllStringSubmatch(string(out), -1) {
		counts[m[1]], _ = strconv.Atoi(m[2])
	}
	t.Logf("conformance suite: %d passed, %d failed, %d errors, %d skipped, %d disabled",
		counts["Pass"], counts["FAIL"], counts["Error"], counts["Skip"], counts["Disabled"])
	// With OCI_API_PUSH=false this version of the suite prints its report
	// and then crashes writing results.yaml (ReportResultsYAML reads the
	// test data of the blob tests it skipped, which it never made): that
	// crash, after a reported pass, is the suite's, not a failed test.
	if err != nil && strings.Contains(string(out), "main.(*runner).ReportResultsYAML") && strings.Contains(string(out), "nil pointer dereference") {
		t.Logf("the suite crashed writing results.yaml after its report (a bug of the suite in read-only runs)")
		err = nil
	}
	if err != nil || counts["FAIL"] != 0 || counts["Error"] != 0 || !strings.Contains(string(out), "OCI Conformance Result: Pass") {
		t.Fatalf("conformance suite failed (%v):\n%s", err, out)
	}
	return counts
}

// roData is what a read-only conformance run pulls.
type roData struct {
	tags                        []string
	manifests, blobs, referrers []digest.Digest
}

func joinDigests(ds []digest.Digest) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.String()
	}
	return strings.Join(s, " ")
}

// conformanceLayout writes a layout for the read-only run: two images
// tagged in conformance/repo1 (one under a registry-qualified name) and an
// SBOM-like artifact referring to the first, as an untagged entry the way
// oras writes referrers.
func conformanceLayout(t *testing.T) (string, roData) {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	writeRandomImage(t, src, "a", imageSpec{seed: 11, layers: 2, layerSize: 64 << 10})
	writeRandomImage(t, src, "b", imageSpec{seed: 12, layers: 1, layerSize: 32 << 10})
	dir := filepath.Join(t.TempDir(), "images")
	ioCopyCLI(t, "oci:"+src+":a", "oci-layout:"+dir+":registry.example.com/conformance/repo1:v1", "--preserve-digests")
	ioCopyCLI(t, "oci:"+src+":b", "oci-layout:"+dir+":conformance/repo1:v2", "--preserve-digests")
	ctx := context.Background()
	l, err := layout.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ro := roData{tags: []string{"v1", "v2"}}
	idx, err := l.Index(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range idx.Manifests {
		ro.manifests = append(ro.manifests, e.Digest)
		m, err := layouttest.ReadManifest(l, ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		ro.blobs = append(ro.blobs, m.Config.Digest)
		for _, layer := range m.Layers {
			ro.blobs = append(ro.blobs, layer.Digest)
		}
	}
	subject := idx.Manifests[0]
	empty, err := layouttest.PutBytes(l, ctx, []byte("{}"))
	ioMust(t, err, "storing the empty config")
	payload := []byte(`{"spdxVersion":"SPDX-2.3"}`)
	pd, err := layouttest.PutBytes(l, ctx, payload)
	ioMust(t, err, "storing the SBOM")
	art := imgspecv1.Manifest{
		Versioned:    imgspec.Versioned{SchemaVersion: 2},
		MediaType:    imgspecv1.MediaTypeImageManifest,
		ArtifactType: "application/spdx+json",
		Config:       imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeEmptyJSON, Digest: empty, Size: 2},
		Layers:       []imgspecv1.Descriptor{{MediaType: "application/spdx+json", Digest: pd, Size: int64(len(payload))}},
		Subject:      &imgspecv1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
	}
	data, err := json.Marshal(art)
	ioMust(t, err, "encoding the artifact")
	ad, err := layouttest.PutBytes(l, ctx, data)
	ioMust(t, err, "storing the artifact")
	ioMust(t, layouttest.Tag(l, ctx, imgspecv1.Descriptor{MediaType: art.MediaType, ArtifactType: art.ArtifactType, Digest: ad, Size: int64(len(data))}, ""), "recording the artifact")
	ro.manifests = append(ro.manifests, ad)
	ro.blobs = append(ro.blobs, pd)
	ro.referrers = []digest.Digest{subject.Digest}
	return dir, ro
}
