package mirror

import "testing"

// TestBatchSizeFor: small and middle syncs commit batchSize images at
// once; a sync of 100,000 commits 64 batches, not 390.
func TestBatchSizeFor(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{201, batchSize},
		{10000, batchSize},
		{16384, batchSize},
		{100000, 1562},
	} {
		if got := batchSizeFor(tc.n); got != tc.want {
			t.Errorf("batchSizeFor(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}
