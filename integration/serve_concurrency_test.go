package integration

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
)

// 32 concurrent pulls (containers/image's docker:// client, the one
// podman and skopeo use) from ocilayout serve, while ocilayout copy
// processes move other tags of the same layout and ocilayout gc runs in a
// loop: every pull completes with the right manifest and blobs, and every
// tag is kept.
func TestServeConcurrentPullsDuringCopiesAndGC(t *testing.T) {
	const pulls, stable, churners, rounds = 32, 4, 4, 3
	src := filepath.Join(t.TempDir(), "src")
	var imgs []digest.Digest
	for i := range stable + churners {
		imgs = append(imgs, writeRandomImage(t, src, fmt.Sprintf("img%d", i), imageSpec{seed: uint64(100 + i), layers: 2, layerSize: 256 << 10}))
	}
	dst := filepath.Join(t.TempDir(), "images")
	for i := range stable {
		ioCopyCLI(t, fmt.Sprintf("oci:%s:img%d", src, i), fmt.Sprintf("oci-layout:%s:quay.io/pull/img%d:v1", dst, i), "--preserve-digests")
	}
	srv := startServe(t, dst)

	var pullWG, writeWG sync.WaitGroup
	pullErrs := make([]error, pulls)
	outs := make([]string, pulls)
	for i := range pulls {
		pullWG.Add(1)
		go func() {
			defer pullWG.Done()
			outs[i] = filepath.Join(t.TempDir(), "out")
			_, pullErrs[i] = ioTryCopy(t, fmt.Sprintf("docker://%s/pull/img%d:v1", srv.addr, i%stable), "dir:"+outs[i], nil)
		}()
	}
	writeErrs := make(chan error, churners*rounds)
	for w := range churners {
		writeWG.Add(1)
		go func() {
			defer writeWG.Done()
			for r := range rounds {
				img := stable + (w+r)%churners
				if _, stderr, err := runCLI(t, "copy", "--quiet", "--insecure-policy", "--preserve-digests",
					fmt.Sprintf("oci:%s:img%d", src, img), fmt.Sprintf("oci-layout:%s:churn%d", dst, w)); err != nil {
					writeErrs <- fmt.Errorf("writer %d round %d: %w: %s", w, r, err, stderr)
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { pullWG.Wait(); writeWG.Wait(); close(done) }()
	gcRuns := 0
	for running := true; running; gcRuns++ {
		select {
		case <-done:
			running = false
		default:
		}
		mustRunCLI(t, "gc", dst)
	}
	close(writeErrs)
	for err := range writeErrs {
		t.Error(err)
	}
	for i, err := range pullErrs {
		if err != nil {
			t.Errorf("pull %d: %v", i, err)
			continue
		}
		checkDirImage(t, outs[i], imgs[i%stable])
	}
	tags := tagsOf(t, checkLayout(t, dst))
	for i := range stable {
		if name := fmt.Sprintf("quay.io/pull/img%d:v1", i); tags[name] != imgs[i] {
			t.Errorf("%s is %q, want %s", name, tags[name], imgs[i])
		}
	}
	for w := range churners {
		if name, want := fmt.Sprintf("churn%d", w), imgs[stable+(w+rounds-1)%churners]; tags[name] != want {
			t.Errorf("%s is %q, want %s", name, tags[name], want)
		}
	}
	ioVerifyCLI(t, dst)
	t.Logf("%d pulls beside %d copies and %d gc runs", pulls, churners*rounds, gcRuns)
}
