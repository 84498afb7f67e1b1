package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// BenchmarkConcurrentCopies measures, rather than tests, what 16
// concurrent `ocilayout copy` processes writing 16 different tags into one
// layout leave behind, with the built-in oci: destination (which rewrites
// index.json without a lock) and with ours. The count for oci: depends on
// how the processes happen to interleave, so it cannot be asserted; it is
// reported as the metric tags-kept (mean over the iterations, of 16),
// beside failed-copies. TestConcurrentCopiesDifferentTags is the test of
// our side. Run it with
//
//	go test -tags "$TAGS" -run '^$' -bench ConcurrentCopies -benchtime 3x ./integration/
func BenchmarkConcurrentCopies(b *testing.B) {
	const n = 16
	for _, transport := range []string{"oci", "oci-layout"} {
		b.Run(transport, func(b *testing.B) {
			src := filepath.Join(b.TempDir(), "src")
			sourceImages(b, src, n, 300)
			var kept, failed, runs int
			for b.Loop() {
				dst := filepath.Join(b.TempDir(), "dst")
				if err := os.Mkdir(dst, 0o755); err != nil {
					b.Fatal(err)
				}
				var jobs []copyJob
				for i := range n {
					jobs = append(jobs, copyJob{src: fmt.Sprintf("oci:%s:img%d", src, i), dst: fmt.Sprintf("%s:%s:tag%d", transport, dst, i)})
				}
				for _, err := range runConcurrently(b, jobs) {
					if err != nil {
						failed++
						b.Logf("%s: %v", transport, err)
					}
				}
				kept += tagsIn(b, dst)
				runs++
			}
			b.ReportMetric(float64(kept)/float64(runs), "tags-kept")
			b.ReportMetric(float64(failed)/float64(runs), "failed-copies")
		})
	}
}

// tagsIn counts the named entries of dir/index.json; an index.json that is
// missing or does not parse (the built-in can leave one torn) counts 0.
func tagsIn(b *testing.B, dir string) int {
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		b.Logf("no readable index.json in %s: %v", dir, err)
		return 0
	}
	var idx imgspecv1.Index
	if err := json.Unmarshal(data, &idx); err != nil {
		b.Logf("index.json of %s does not parse: %v", dir, err)
		return 0
	}
	tags := 0
	for _, d := range idx.Manifests {
		if d.Annotations[imgspecv1.AnnotationRefName] != "" {
			tags++
		}
	}
	return tags
}
