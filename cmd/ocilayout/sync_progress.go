package main

import (
	"io"
	"sync"

	"github.com/ocilayout/ocilayout/mirror"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"go.podman.io/image/v5/types"
)

// syncBars draws, on a terminal, one bar per image being copied (bytes of
// its blobs) under an overall bar (images done of images planned). A
// finished image's bar is replaced by its result line, printed above.
type syncBars struct {
	p *mpb.Progress

	mu      sync.Mutex           // guards the fields below
	overall *mpb.Bar             // nil until Planned
	bars    map[string]*imageBar // by destination, while being copied
}

type imageBar struct {
	bar  *mpb.Bar
	done chan struct{} // closed when the progress channel is drained
}

func newSyncBars(w io.Writer) *syncBars {
	return &syncBars{p: mpb.New(mpb.WithOutput(w), mpb.WithWidth(40)), bars: map[string]*imageBar{}}
}

// Planned implements mirror.Progress.
func (s *syncBars) Planned(images int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.overall = s.p.AddBar(int64(images), mpb.BarPriority(1<<30),
		mpb.PrependDecorators(decor.Name("images ")),
		mpb.AppendDecorators(decor.CountersNoUnit("%d / %d")))
}

// Started implements mirror.Progress: the bar's total grows as copy.Image
// announces each blob, and reused blobs count as done at once.
func (s *syncBars) Started(_, destination string) chan types.ProgressProperties {
	ch := make(chan types.ProgressProperties)
	ib := &imageBar{done: make(chan struct{}),
		bar: s.p.AddBar(0, mpb.BarRemoveOnComplete(),
			mpb.PrependDecorators(decor.Name(destination+" ")),
			mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f")))}
	s.mu.Lock()
	s.bars[destination] = ib
	s.mu.Unlock()
	go func() {
		defer close(ib.done)
		var total int64
		for ev := range ch {
			switch ev.Event {
			case types.ProgressEventNewArtifact:
				total += max(ev.Artifact.Size, 0)
				ib.bar.SetTotal(total, false)
			case types.ProgressEventRead:
				ib.bar.IncrInt64(int64(ev.OffsetUpdate))
			case types.ProgressEventSkipped:
				ib.bar.IncrInt64(max(ev.Artifact.Size, 0))
			}
		}
	}()
	return ch
}

// Finished implements mirror.Progress.
func (s *syncBars) Finished(res mirror.Result) {
	s.mu.Lock()
	ib := s.bars[res.Destination]
	delete(s.bars, res.Destination)
	overall := s.overall
	s.mu.Unlock()
	if ib != nil {
		<-ib.done
		ib.bar.SetTotal(-1, true)
	}
	if res.Action != mirror.ActionUnchanged && res.Action != mirror.ActionSkipped {
		_, _ = s.p.Write([]byte(res.String() + "\n"))
	}
	if overall != nil {
		overall.Increment()
	}
}

// wait ends the display once Run returned.
func (s *syncBars) wait() {
	s.mu.Lock()
	if s.overall != nil {
		s.overall.SetTotal(-1, true)
	}
	s.mu.Unlock()
	s.p.Wait()
}
