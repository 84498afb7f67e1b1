package layout

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGCTotals: GCResult's Files and Bytes count the unreachable blobs and
// the stale temp files together (what `ocilayout gc` prints), in a dry run
// as in a real one.
func TestGCTotals(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		blobs, temps int
		dryRun       bool
	}{
		{"nothing to remove", 0, 0, false},
		{"blobs only", 2, 0, false},
		{"temp files only", 0, 2, false},
		{"blobs and temp files", 3, 2, false},
		{"blobs and temp files, dry run", 3, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, dir := gtCreate(t)
			m := gtManifest(t, l, "kept")
			must(t, l.addManifest(ctx, m, "app"))
			var wantBytes int64
			for i := range tc.blobs {
				data := []byte(strings.Repeat("unreachable ", i+1))
				_, err := l.putBytes(ctx, data)
				must(t, err)
				wantBytes += int64(len(data))
			}
			for i := range tc.temps {
				data := []byte(strings.Repeat("temp ", i+2))
				must(t, os.WriteFile(filepath.Join(dir, "blobs", tempPrefix+string(rune('a'+i))), data, 0o600))
				wantBytes += int64(len(data))
			}
			var opts []GCOption
			if tc.dryRun {
				opts = append(opts, DryRun())
			}
			res, err := l.GC(ctx, opts...)
			must(t, err)
			if len(res.Blobs) != tc.blobs || len(res.TempFiles) != tc.temps {
				t.Fatalf("gc found %d blobs and %d temp files, want %d and %d", len(res.Blobs), len(res.TempFiles), tc.blobs, tc.temps)
			}
			if res.Files != tc.blobs+tc.temps || res.Bytes != wantBytes {
				t.Errorf("Files, Bytes = %d, %d; want %d, %d", res.Files, res.Bytes, tc.blobs+tc.temps, wantBytes)
			}
		})
	}
}
