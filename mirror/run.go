package mirror

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ocilayout/ocilayout/internal/retry"
	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
)

// Run syncs opts.Sources into opts.Destination: it lists the sources,
// reads what the destination holds, checks each image (one manifest HEAD
// at most, none for an immutable tag already held) and copies those that
// changed, opts.Parallel at a time, each through copy.Image into its own
// commit. It returns the report, and a *FailedError when images failed
// (with the report still describing every image), or an error when the
// sync could not start.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	p, err := newPlan(ctx, &opts)
	if err != nil {
		return nil, err
	}
	if err := p.run(ctx); err != nil {
		return nil, err
	}
	stopped := !opts.KeepGoing && (len(p.failed) > 0 || p.anyFailed())
	var pruned []Result
	if opts.Prune && !stopped && len(p.failed) == 0 {
		pruned = p.prune(ctx)
	}
	moved := p.moved()
	r := newReport(opts.DryRun, p.results(pruned))
	if moved {
		if err := p.collect(ctx, r); err != nil {
			return r, err
		}
	}
	return r, r.failures()
}

func (p *plan) anyFailed() bool {
	for _, it := range p.items {
		if it.result.Action == ActionFailed {
			return true
		}
	}
	return false
}

// results are the report's: the sources that could not be listed, every
// item, then pruned. The plan is done with: each item is released as its
// Result is made, and the destination's names before, so that the report
// of 100,000 images does not add its 13 MB to the plan's.
func (p *plan) results(pruned []Result) []Result {
	p.held, p.heldDigests, p.heldSources, p.heldSource = nil, nil, nil, nil
	out := append(make([]Result, 0, len(p.failed)+len(p.items)+len(pruned)), p.failed...)
	for i, it := range p.items {
		out = append(out, p.report(it))
		p.items[i] = nil
	}
	p.items = nil
	return append(out, pruned...)
}

// moved reports whether a copy replaced the image a destination name held
// (a tag that moved), whose blobs collect then reclaims.
func (p *plan) moved() bool {
	for _, it := range p.items {
		if it.result.Action == ActionCopied && it.held != "" && it.held != it.result.Digest {
			return true
		}
	}
	return false
}

// run decides about and copies every item in three passes, each with
// Parallel workers: check all (the HEADs); copy one image per source
// digest (or, into a layout that already holds that digest under another
// name, just name it: no request at all); then name the other tags of a
// digest copied in this run after the one copy. Without KeepGoing the
// first failure stops the workers from starting more images; those
// already running finish.
func (p *plan) run(ctx context.Context) error {
	workers := max(1, p.opts.Parallel)
	pcs := make(chan *signature.PolicyContext, workers)
	defer func() {
		close(pcs)
		for pc := range pcs {
			_ = pc.Destroy()
		}
	}()
	for range workers {
		// A PolicyContext evaluates one image at a time: one per worker.
		pc, err := signature.NewPolicyContext(p.opts.Policy)
		if err != nil {
			return fmt.Errorf("loading trust policy: %w", err)
		}
		pcs <- pc
	}
	if p.opts.Progress != nil {
		p.opts.Progress.Planned(len(p.items))
	}
	var logMu sync.Mutex
	var stop atomic.Bool
	stop.Store(!p.opts.KeepGoing && len(p.failed) > 0)
	done := func(it *item) {
		if it.result.Action == ActionFailed && !p.opts.KeepGoing {
			stop.Store(true)
		}
		logMu.Lock()
		defer logMu.Unlock()
		if p.opts.Log != nil {
			fmt.Fprintln(p.opts.Log, p.report(it).String())
		}
		if p.opts.Progress != nil {
			p.opts.Progress.Finished(p.report(it))
		}
	}
	each := func(items []*item, f func(*item)) {
		inParallel(items, workers, func(it *item) {
			if stop.Load() {
				it.result.fail(ActionSkipped, "not started: an earlier image failed")
				done(it)
				return
			}
			f(it)
		})
	}

	var pending []*item
	for _, it := range p.items {
		if it.result.Action == ActionFailed {
			done(it)
		} else {
			pending = append(pending, it)
		}
	}
	each(pending, func(it *item) {
		p.check(ctx, it)
		if it.result.Action != "" {
			done(it)
			return
		}
		if p.opts.DryRun {
			it.result.Action, it.result.Digest = ActionWouldCopy, it.srcDigest
			done(it)
			return
		}
	})
	// The items to copy are those the check left undecided, in plan order,
	// so that which tag of a digest is copied (and which are named after
	// it) does not depend on the check's timing.
	var toCopy []*item
	for _, it := range pending {
		if it.result.Action == "" {
			toCopy = append(toCopy, it)
		}
	}
	first := map[digest.Digest]*item{}
	var primaries, secondaries []*item
	for _, it := range toCopy {
		if f, ok := first[it.srcDigest]; ok && p.opts.Destination.Layout != "" {
			it.c.sameAs = f
			secondaries = append(secondaries, it)
			continue
		}
		first[it.srcDigest] = it
		primaries = append(primaries, it)
	}
	unbatched := map[*item]types.ImageReference{}
	b, err := p.startBatch(ctx, len(toCopy), func(it *item) {
		if f := it.c.sameAs; f != nil {
			it.result = outcome{}
			if err := tagExisting(ctx, p.opts.Destination.Sys, p.opts.Destination.Layout, f.result.Digest, it.destName, true); err == nil {
				it.result.Action, it.result.Digest = ActionCopied, f.result.Digest
				return
			}
		}
		if d, ok := unbatched[it]; ok {
			it.c.dest, it.c.batch = d, nil
		}
		it.result = outcome{}
		p.copyOrTag(ctx, pcs, it)
	})
	if err != nil {
		return err
	}
	if b != nil {
		defer b.close()
		for _, it := range primaries {
			unbatched[it] = it.c.dest
			it.c.dest, it.c.batch = batched(it.c.dest, b.b), b.b
		}
	}
	each(primaries, func(it *item) {
		p.copyOrTag(ctx, pcs, it)
		if b != nil && it.result.Action == ActionCopied {
			b.wait(ctx, it, done) // reported once its name is committed
			return
		}
		done(it)
	})
	if b != nil {
		b.flush(ctx, done)
	}
	var again []*item // secondaries whose image the batch did not find
	var againMu sync.Mutex
	each(secondaries, func(it *item) {
		if f := it.c.sameAs; f.result.Action == ActionCopied {
			if b != nil {
				deferTag(b.b, f.result.Digest, it.destName, func() {
					againMu.Lock()
					again = append(again, it)
					againMu.Unlock()
				})
				it.result.Action, it.result.Digest = ActionCopied, f.result.Digest
				b.wait(ctx, it, done)
				return
			}
			if err := tagExisting(ctx, p.opts.Destination.Sys, p.opts.Destination.Layout, f.result.Digest, it.destName, true); err == nil {
				it.result.Action, it.result.Digest = ActionCopied, f.result.Digest
				done(it)
				return
			}
		}
		p.copyOrTag(ctx, pcs, it)
		done(it)
	})
	if b != nil {
		b.flush(ctx, done)
	}
	for _, it := range again {
		it.result = outcome{}
		p.copyOrTag(ctx, pcs, it)
		b.wait(ctx, it, done)
	}
	if b != nil {
		b.flush(ctx, done)
	}
	for _, it := range pending {
		if it.c != nil && it.c.reused != nil {
			it.c.reused.close()
		}
	}
	if p.opts.Referrers && !p.opts.DryRun && !stop.Load() {
		p.referrersPass(ctx, workers, &logMu)
	}
	return nil
}

// referrersPass carries the referrers of every image copied or found
// unchanged, once all names are committed (a referrer recorded in a layout
// needs its subject there), workers at a time.
func (p *plan) referrersPass(ctx context.Context, workers int, logMu *sync.Mutex) {
	var carried []*item
	for _, it := range p.items {
		if it.result.Action == ActionCopied || it.result.Action == ActionUnchanged {
			carried = append(carried, it)
		}
	}
	inParallel(carried, workers, func(it *item) {
		p.carryReferrers(ctx, it)
		if m := it.result.more; p.opts.Log != nil && m != nil && (m.Referrers > 0 || m.Error != "" || m.Note != "") {
			logMu.Lock()
			fmt.Fprintln(p.opts.Log, p.report(it).String())
			logMu.Unlock()
		}
	})
}

// inParallel runs f on each of items, workers at a time, and returns when
// all are done.
func inParallel(items []*item, workers int, f func(*item)) {
	work := make(chan *item)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				f(it)
			}
		}()
	}
	for _, it := range items {
		work <- it
	}
	close(work)
	wg.Wait()
}

// copyOrTag names the image in the destination layout when the layout
// already holds its digest under another name, and copies it otherwise.
func (p *plan) copyOrTag(ctx context.Context, pcs chan *signature.PolicyContext, it *item) {
	if dir := p.opts.Destination.Layout; dir != "" {
		held := it.srcDigest
		if _, ok := p.heldDigests[held]; !ok {
			held = p.heldSources[p.sourceKey(it.srcDigest)] // converted from this source manifest
		}
		wantIndex := p.opts.Copy.ImageListSelection != copy.CopySystemImage
		if held != "" {
			if err := tagExisting(ctx, p.opts.Destination.Sys, dir, held, it.destName, wantIndex); err == nil {
				it.result.Action, it.result.Digest = ActionCopied, held
				return
			}
		}
	}
	pc := <-pcs
	defer func() { pcs <- pc }()
	d, err := p.copy(ctx, pc, it)
	if err != nil {
		it.result.fail(ActionFailed, err.Error())
		return
	}
	it.result.Action, it.result.Digest = ActionCopied, d
}

// copy runs copy.Image for one item, with the retries asked for. Blobs
// the destination layout already has are not fetched: copy.Image asks
// the destination's TryReusingBlob first, which finds them on disk.
func (p *plan) copy(ctx context.Context, pc *signature.PolicyContext, it *item) (digest.Digest, error) {
	o := p.opts.Copy // each copy gets its own Options
	o.SourceCtx = it.from.sys
	o.DestinationCtx = p.opts.Destination.Sys
	o.ReportWriter = io.Discard
	if p.opts.Progress != nil {
		if ch := p.opts.Progress.Started(it.source(), p.destination(it)); ch != nil {
			o.Progress = ch
			if o.ProgressInterval == 0 {
				o.ProgressInterval = 200 * time.Millisecond
			}
			defer close(ch)
		}
	}
	report := p.opts.Log
	if report == nil {
		report = io.Discard
	}
	var man []byte
	var read *reusedSource // the source of the attempt that succeeded, its manifest read
	err := retry.Do(ctx, p.opts.RetryTimes, p.opts.RetryDelay, report, func() error {
		src := it.c.reused // the check's, on the first attempt
		if src == nil || !src.fresh() {
			var err error
			if src, err = openRead(ctx, it.from.sys, it.c.src); err != nil {
				return err
			}
		}
		defer src.close()
		o := o
		if len(p.opts.Platforms) > 0 && src.isList {
			var err error
			if o.Instances, err = selectInstances(src.raw, src.mediaType, p.opts.Platforms); err != nil {
				return err
			}
		}
		var err error
		man, err = copy.Image(ctx, pc, it.c.dest, src, &o)
		read = src
		return err
	})
	if err != nil {
		return "", fmt.Errorf("copying %s to %s: %w", it.source(), p.destination(it), err)
	}
	d, err := manifest.Digest(man)
	if err != nil {
		return "", fmt.Errorf("digest of the manifest copied to %s: %w", p.destination(it), err)
	}
	// A manifest the layout stored converted (Docker schema2 to OCI) is
	// held under another digest than upstream's: record upstream's, so the
	// next sync sees it unchanged. Not for a list copied as one platform's
	// image: the instance held depends on the platform asked for.
	dir := p.opts.Destination.Layout
	if dir != "" && read.digest != d && (!read.isList || p.opts.Copy.ImageListSelection != copy.CopySystemImage) {
		it.c.converted = true
		if err := recordSource(ctx, p.opts.Destination.Sys, dir, it.destName, d, p.sourceKey(read.digest), it.c.batch); err != nil && p.opts.Log != nil {
			fmt.Fprintf(p.opts.Log, "warning: %v (the next sync copies %s again)\n", err, it.destName)
		}
	}
	return d, nil
}

// prune deletes (or, in a dry run, lists) the destination entries that a
// listed repository no longer has.
func (p *plan) prune(ctx context.Context) []Result {
	var out []Result
	for _, name := range p.pruneCandidates() {
		h, _ := p.held.find(name)
		res := Result{Destination: name, Digest: h.digest, Action: ActionWouldPrune}
		if !p.opts.DryRun {
			res.Action = ActionPruned
			if err := deleteName(ctx, p.opts.Destination.Sys, p.opts.Destination.Layout, name); err != nil {
				res.Action, res.Error = ActionFailed, err.Error()
			}
		}
		if p.opts.Log != nil {
			fmt.Fprintln(p.opts.Log, res.String())
		}
		out = append(out, res)
	}
	return out
}

// collect runs the engine's GC on a destination layout (Run calls it when
// a tag moved: a copy over a name that held another digest), recording
// what it freed.
func (p *plan) collect(ctx context.Context, r *Report) error {
	if p.opts.Destination.Layout == "" || p.opts.DryRun || p.opts.KeepUnreferenced {
		return nil
	}
	blobs, bytes, err := collect(ctx, p.opts.Destination.Sys, p.opts.Destination.Layout)
	if err != nil {
		return err
	}
	r.Reclaimed = &Reclaimed{Blobs: blobs, Bytes: bytes}
	if p.opts.Log != nil {
		fmt.Fprintf(p.opts.Log, "reclaimed %d blobs, %d bytes of replaced images\n", blobs, bytes)
	}
	return nil
}
