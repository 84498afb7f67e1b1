package commit_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ocilayout/ocilayout/commit"
	"github.com/ocilayout/ocilayout/internal/fixture"
	"go.podman.io/image/v5/transports/alltransports"
)

const benchSize = 64 << 20

// BenchmarkCommit commits a container that wrote 64 MiB of random data
// into a fresh oci-layout: layout per iteration (snapshot of the diff,
// then copy.Image gzipping every layer). Bytes are the container's diff.
func BenchmarkCommit(b *testing.B) {
	ref := benchContainer(b)
	out := b.TempDir()
	b.SetBytes(benchSize)
	i := 0
	for b.Loop() {
		dest, err := alltransports.ParseImageName(fmt.Sprintf("oci-layout:%s/%d", out, i))
		if err != nil {
			b.Fatal(err)
		}
		copyImage(b, ref, dest, nil)
		b.StopTimer()
		os.RemoveAll(fmt.Sprintf("%s/%d", out, i))
		i++
		b.StartTimer()
	}
}

// BenchmarkCommitSnapshot is the part of a commit that reads the store:
// NewImageSource (diffing the container layer into the snapshot file,
// hashed) and Close.
func BenchmarkCommitSnapshot(b *testing.B) {
	ref := benchContainer(b)
	b.SetBytes(benchSize)
	for b.Loop() {
		src, err := ref.NewImageSource(context.Background(), nil)
		if err != nil {
			b.Fatal(err)
		}
		src.Close()
	}
}

// benchContainer is a container of a fresh store whose layer holds
// benchSize random bytes more than its image.
func benchContainer(b *testing.B) commit.Reference {
	const size = benchSize
	store := fixture.Store(b)
	base := storeBaseImage(b, store)
	c, err := store.CreateContainer("", []string{"ctr"}, base.id, "", "", nil)
	if err != nil {
		b.Fatal(err)
	}
	mnt, err := store.Mount(c.ID, "")
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, size)
	_, _ = rand.Read(data)
	fixture.WriteFile(b, filepath.Join(mnt, "data", "random"), data)
	if _, err := store.Unmount(c.ID, false); err != nil {
		b.Fatal(err)
	}
	ref, err := commit.NewReference(store, "ctr")
	if err != nil {
		b.Fatal(err)
	}
	return ref
}
