package layout

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
	"github.com/opencontainers/go-digest"
)

// TestLinkBlobFromCheapestMethod: LinkBlobFrom takes the cheapest way the
// file system offers, not merely some way. Where the test's temp directory
// can reflink (fixture.CanReflink), the blob must be a reflink: its own
// inode with the same content; elsewhere (ext4, tmpfs) a hard link: the
// same inode as the source. TestLinkBlobFrom accepts any method, so a
// disabled reflink or hard link would fall through to copy_file_range
// unnoticed there. (The copy_file_range method itself is asserted by
// TestLinkBlobFromImmutableSource.)
func TestLinkBlobFromCheapestMethod(t *testing.T) {
	ctx := context.Background()
	content := bytes.Repeat([]byte("cheapest link "), 10000)
	d := digest.FromBytes(content)
	for _, verify := range []bool{true, false} {
		t.Run(map[bool]string{true: "verified", false: "trusted"}[verify], func(t *testing.T) {
			src, srcDir := gtCreate(t)
			if _, err := src.putBytes(ctx, content); err != nil {
				t.Fatal(err)
			}
			dst, dstDir := gtCreate(t)
			reflinks, err := fixture.CanReflink(dstDir)
			if err != nil {
				t.Fatal(err)
			}
			want := "hardlink"
			if reflinks {
				want = "reflink"
			}
			method, err := dst.LinkBlob(ctx, filepath.Join(srcDir, "blobs"), d, int64(len(content)), linkOpts(verify)...)
			if err != nil || method != want {
				t.Fatalf("LinkBlobFrom = %q, %v; want %q (reflink possible here: %v)", method, err, want, reflinks)
			}
			si, err := os.Stat(filepath.Join(srcDir, "blobs", "sha256", d.Encoded()))
			if err != nil {
				t.Fatal(err)
			}
			di, err := os.Stat(filepath.Join(dstDir, "blobs", "sha256", d.Encoded()))
			if err != nil {
				t.Fatal(err)
			}
			if same := os.SameFile(si, di); same != (want == "hardlink") {
				t.Fatalf("%s: destination blob is the source's inode: %v", method, same)
			}
			if got, err := dst.ReadBlob(ctx, d, int64(len(content))); err != nil || !bytes.Equal(got, content) {
				t.Fatalf("reading the linked blob: %v", err)
			}
		})
	}
}
