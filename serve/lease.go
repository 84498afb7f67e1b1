package serve

import (
	"sync"
	"time"
)

// leases keeps gc from reclaiming what a push has put in the layout and no
// index.json entry names yet. A registry push is several requests: blobs
// first, each its own upload, then the manifest that names them. Holding
// the engine's write lease only during each upload would leave the window
// between a blob's final PUT and the manifest PUT open to gc. So the
// server shares one write lease between every request and upload session
// in flight, and keeps it for a grace period after the last one ends
// (min(1 minute, the upload timeout)): long enough for a client to go on
// to the manifest, short enough that gc, which waits for the lease, is not
// held off for long once pushes stop.
//
// Fairness to gc: a lease is shared by newcomers only for maxShare after
// it was taken; later requests take a fresh lease through the engine's
// gate, where they queue behind a waiting gc, while the old lease drains.
// So a steady stream of pushes delays gc by at most maxShare plus grace.
type leases struct {
	s        store
	grace    time.Duration
	maxShare time.Duration

	mu  sync.Mutex
	cur *lease // the lease newcomers share; nil when none is held
}

// lease is one engine write lease and its users; guarded by leases.mu.
type lease struct {
	release func()
	users   int
	since   time.Time
	timer   *time.Timer // the grace period, while users == 0
	gen     uint64      // which grace period is current (a stopped timer may still fire)
}

func newLeases(s store, uploadTimeout time.Duration) *leases {
	return &leases{s: s, grace: min(time.Minute, uploadTimeout), maxShare: 5 * time.Minute}
}

// acquire returns a hold on a write lease, to release exactly once.
func (p *leases) acquire() (func(), error) {
	p.mu.Lock()
	if l := p.cur; l != nil && time.Since(l.since) < p.maxShare {
		p.use(l)
		p.mu.Unlock()
		return p.releaser(l), nil
	}
	p.mu.Unlock()
	// Outside mu: this waits while gc runs.
	rel, err := p.s.acquireWriteLease()
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	l := &lease{release: rel, since: time.Now()}
	p.use(l)
	p.cur = l
	return p.releaser(l), nil
}

// use adds a user to l, stopping its grace period. Called with mu held.
func (p *leases) use(l *lease) {
	l.users++
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
}

func (p *leases) releaser(l *lease) func() {
	var once sync.Once
	return func() { once.Do(func() { p.done(l) }) }
}

// done drops a user; the last one starts the grace period.
func (p *leases) done(l *lease) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l.users--
	if l.users > 0 {
		return
	}
	l.gen++
	gen := l.gen
	l.timer = time.AfterFunc(p.grace, func() { p.expire(l, gen) })
}

// expire gives l back to the engine unless it was taken up again since
// grace period gen began.
func (p *leases) expire(l *lease, gen uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l.gen != gen || l.timer == nil || l.users > 0 {
		return
	}
	l.timer = nil
	l.release()
	if p.cur == l {
		p.cur = nil
	}
}
