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
	results := append([]Result{}, p.failed...)
	for _, it := range p.items {
		results = append(results, it.result)
	}
	stopped := !opts.KeepGoing && hasFailure(results)
	if opts.Prune && !stopped && len(p.failed) == 0 {
		results = append(results, p.prune(ctx)...)
	}
	r := newReport(opts.DryRun, results)
	if err := p.collect(ctx, r); err != nil {
		return r, err
	}
	return r, r.failures()
}

func hasFailure(results []Result) bool {
	for _, r := range results {
		if r.Action == ActionFailed {
			return true
		}
	}
	return false
}

// run checks and copies every item with Parallel workers. Without
// KeepGoing the first failure stops the workers from starting more
// images; those already running finish.
func (p *plan) run(ctx context.Context) error {
	workers := max(1, p.opts.Parallel)
	var stop atomic.Bool
	if !p.opts.KeepGoing && len(p.failed) > 0 {
		stop.Store(true)
	}
	var logMu sync.Mutex
	if p.opts.Progress != nil {
		p.opts.Progress.Planned(len(p.items))
	}
	log := func(res Result) {
		logMu.Lock()
		defer logMu.Unlock()
		if p.opts.Log != nil {
			fmt.Fprintln(p.opts.Log, res.String())
		}
		if p.opts.Progress != nil {
			p.opts.Progress.Finished(res)
		}
	}
	work := make(chan *item)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		// One PolicyContext per worker: a PolicyContext refuses to
		// evaluate two images at once.
		pc, err := signature.NewPolicyContext(p.opts.Policy)
		if err != nil {
			close(work)
			wg.Wait()
			return fmt.Errorf("loading trust policy: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { errs <- pc.Destroy() }()
			for it := range work {
				if stop.Load() && it.result.Action == "" {
					it.result.Action, it.result.Error = ActionSkipped, "not started: an earlier image failed"
					log(it.result)
					continue
				}
				p.process(ctx, pc, it)
				if it.result.Action == ActionFailed && !p.opts.KeepGoing {
					stop.Store(true)
				}
				log(it.result)
			}
		}()
	}
	for _, it := range p.items {
		work <- it
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return fmt.Errorf("tearing down the trust policy: %w", err)
		}
	}
	return nil
}

// process decides about one item and, unless it is unchanged, skipped or
// a dry run, copies it.
func (p *plan) process(ctx context.Context, pc *signature.PolicyContext, it *item) {
	if it.result.Action == ActionFailed {
		return
	}
	p.check(ctx, it)
	if it.result.Action != "" {
		return
	}
	if p.opts.DryRun {
		it.result.Action, it.result.Digest = ActionWouldCopy, it.srcDigest
		return
	}
	d, err := p.copy(ctx, pc, it)
	if err != nil {
		it.result.Action, it.result.Error = ActionFailed, err.Error()
		return
	}
	it.result.Action, it.result.Digest = ActionCopied, d
}

// copy runs copy.Image for one item, with the retries asked for. Blobs
// the destination layout already has are not fetched: copy.Image asks
// the destination's TryReusingBlob first, which finds them on disk.
func (p *plan) copy(ctx context.Context, pc *signature.PolicyContext, it *item) (digest.Digest, error) {
	o := p.opts.Copy // each copy gets its own Options
	o.SourceCtx = it.srcSys
	o.DestinationCtx = p.opts.Destination.Sys
	o.ReportWriter = io.Discard
	if p.opts.Progress != nil {
		if ch := p.opts.Progress.Started(it.result.Source, it.result.Destination); ch != nil {
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
	err := retry.Do(ctx, p.opts.RetryTimes, p.opts.RetryDelay, report, func() error {
		var err error
		man, err = copy.Image(ctx, pc, it.dest, it.src, &o)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("copying %s to %s: %w", it.result.Source, it.result.Destination, err)
	}
	d, err := manifest.Digest(man)
	if err != nil {
		return "", fmt.Errorf("digest of the manifest copied to %s: %w", it.result.Destination, err)
	}
	return d, nil
}

// prune deletes (or, in a dry run, lists) the destination entries that a
// listed repository no longer has.
func (p *plan) prune(ctx context.Context) []Result {
	var out []Result
	for _, name := range p.pruneCandidates() {
		res := Result{Destination: name, Digest: p.held[name], Action: ActionWouldPrune}
		if !p.opts.DryRun {
			res.Action = ActionPruned
			if err := deleteName(ctx, p.opts.Destination.Layout, name); err != nil {
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

// collect runs the engine's GC on a destination layout when a tag moved
// (a copy over a name that held another digest), recording what it freed.
func (p *plan) collect(ctx context.Context, r *Report) error {
	if p.opts.Destination.Layout == "" || p.opts.DryRun || p.opts.KeepUnreferenced {
		return nil
	}
	moved := false
	for _, it := range p.items {
		moved = moved || it.result.Action == ActionCopied && it.held != "" && it.held != it.result.Digest
	}
	if !moved {
		return nil
	}
	blobs, bytes, err := collect(ctx, p.opts.Destination.Layout)
	if err != nil {
		return err
	}
	r.Reclaimed = &Reclaimed{Blobs: blobs, Bytes: bytes}
	if p.opts.Log != nil {
		fmt.Fprintf(p.opts.Log, "reclaimed %d blobs, %d bytes of replaced images\n", blobs, bytes)
	}
	return nil
}
