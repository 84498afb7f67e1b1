package integration

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"
	"time"
)

// TestCopyOutSurvivesTagMoveAndGC: a copy out of a layout (a real process,
// held mid-stream by a full pipe) reads the image as it was at open, even
// though meanwhile a writer moves the tag to another image and gc runs:
// gc waits for the reader (its read lease), then collects.
func TestCopyOutSurvivesTagMoveAndGC(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	writeRandomImage(t, src, "c", imageSpec{seed: 31, layers: 6, layerSize: 256 << 10})
	writeRandomImage(t, src, "d", imageSpec{seed: 32, layers: 6, layerSize: 256 << 10})
	dir := filepath.Join(base, "L")
	mustRunCLI(t, "copy", "-q", "--insecure-policy", "oci:"+src+":c", "oci-layout:"+dir+":t")

	reader := cliCommand(t, "copy", "-q", "--insecure-policy", "oci-layout:"+dir+":t", "docker-archive:/dev/stdout:x:y")
	out, err := reader.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var readerErr bytes.Buffer
	reader.Stderr = &readerErr
	if err := reader.Start(); err != nil {
		t.Fatal(err)
	}
	// Its first byte means it has opened the source; then the pipe fills
	// and it waits, mid-image.
	if _, err := io.ReadFull(out, make([]byte, 1)); err != nil {
		t.Fatalf("reader produced nothing: %v: %s", err, readerErr.String())
	}
	mustRunCLI(t, "copy", "-q", "--insecure-policy", "oci:"+src+":d", "oci-layout:"+dir+":t")
	gc := cliCommand(t, "gc", dir)
	var gcOut bytes.Buffer
	gc.Stdout, gc.Stderr = &gcOut, &gcOut
	if err := gc.Start(); err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, out)
	if err := waitExit(t, reader, 60*time.Second); err != nil {
		t.Fatalf("copy out while the tag moved and gc ran: %v: %s", err, readerErr.String())
	}
	if n < 1<<20 {
		t.Fatalf("reader wrote only %d bytes", n)
	}
	if err := waitExit(t, gc, 60*time.Second); err != nil {
		t.Fatalf("gc: %v: %s", err, gcOut.String())
	}
	checkLayout(t, dir)
}
