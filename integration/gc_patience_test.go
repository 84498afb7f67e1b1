package integration

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestGCBehindSlowWriterLetsOthersCopy: one writer is mid-pull (this test
// process holds its shared write lease, as a slow copy would) and gc
// starts: gc waits for it, but not with the gate closed for good, so a
// quick copy into the same layout finishes while the slow writer still
// runs; gc finishes once the slow writer is done.
func TestGCBehindSlowWriterLetsOthersCopy(t *testing.T) {
	src, dir := lockLayout(t)
	lease, err := os.Open(filepath.Join(dir, ".ocilayout-gc.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer lease.Close()
	if err := syscall.Flock(int(lease.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	gc := cliCommand(t, "gc", dir)
	pr, err := gc.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := gc.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = new(bytes.Buffer).ReadFrom(pr) }()
	// gc has started waiting once it holds the gate against writers.
	gate, err := os.Open(filepath.Join(dir, ".ocilayout-gc-gate.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		err := syscall.Flock(int(gate.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		if err == syscall.EWOULDBLOCK {
			break
		}
		if err == nil {
			_ = syscall.Flock(int(gate.Fd()), syscall.LOCK_UN)
		}
		if time.Now().After(deadline) {
			t.Fatal("gc never closed the gate")
		}
	}
	quick := cliCommand(t, "copy", "-q", "--insecure-policy", "oci:"+src+":a", "oci-layout:"+dir+":quick")
	var qerr bytes.Buffer
	quick.Stderr = &qerr
	if err := quick.Start(); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, quick, 20*time.Second); err != nil {
		t.Fatalf("quick copy while gc waits for a slow writer: %v: %s", err, qerr.String())
	}
	if err := syscall.Flock(int(lease.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, gc, 30*time.Second); err != nil {
		t.Fatalf("gc after the slow writer ended: %v", err)
	}
	if tags := tagsOf(t, checkLayout(t, dir)); tags["quick"] == "" || tags["base"] == "" {
		t.Fatalf("tags after gc: %v", tags)
	}
}
