package mirror

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker"
	dockerref "go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/transports"
	"go.podman.io/image/v5/types"
)

// item is one image of the plan: where it comes from, where it goes, and
// what the sync decided to do with it. A sync may plan 100,000 of them, most
// of which a re-sync finds unchanged: an item holds what that decision
// needs, in 128 bytes: its source's name once, its destination's name
// (the layout's own string when it holds it), digests (one string per
// digest, see plan.heldDigests) and its outcome. Its references
// (types.ImageReference) and copy state are made only for an image that
// is copied (copying), or while it is checked; its Result, with Source
// and Destination, when it is reported (plan.report).
type item struct {
	from *origin
	// ref is the source's name under from: a layout's entry name, a
	// Docker store's NAME:TAG, a registry image's :TAG or @DIGEST after
	// from.repo (or its whole reference when from.repo is "").
	ref string
	// tagAt is where the imageName's ref (":TAG", "@DIGEST") starts in
	// ref; noTag for an entry name without one (tagged "latest").
	tagAt     int32
	srcDigest digest.Digest // known without a request for layout sources and digest references
	destName  string        // entry name in a layout, Docker reference in a registry
	held      digest.Digest // what the destination holds under destName; "" for nothing
	result    outcome
	c         *copying // nil until the image is to be copied (plan.refs)
}

// outcome is what became of an item: its Result without the Source and
// Destination, which plan.report makes from the item, and with the fields
// few images set apart.
type outcome struct {
	Action Action
	Digest digest.Digest
	more   *Result // its Error, Referrers and Note, once one is set
}

// fail records action (ActionFailed, ActionSkipped) and why.
func (o *outcome) fail(action Action, why string) {
	o.Action = action
	o.extra().Error = why
}

func (o *outcome) extra() *Result {
	if o.more == nil {
		o.more = &Result{}
	}
	return o.more
}

// origin is what the items of one Source share.
type origin struct {
	sys *types.SystemContext
	// label is what Result.Source starts with ("docker://",
	// "oci-layout:DIR:", "docker-storage:ROOT:"), the item's ref or name
	// following it.
	label   string
	layout  string // the source layout's directory, or ""
	storage string // the Docker store's root, or ""
	repo    string // a registry source's REG/REPO, which its items' ref follows
}

// copying is an item's state once it is to be copied.
type copying struct {
	src, dest types.ImageReference
	converted bool          // this sync stored it converted, under another digest
	batch     *batch        // the batch dest commits into, or nil
	sameAs    *item         // an earlier item of the same source digest, copied first
	reused    *reusedSource // the source check opened, when it read the manifest
}

// noTag is item.tagAt for a name without tag or digest.
const noTag = -1

// newItem is the item of the source image ref under from, whose name is
// n: ref ends with n.ref (a layout entry's, a registry reference's, a
// Docker store name's tag or digest), or n.ref is the ":latest"
// nameOfEntry gives a name without one (TestItemTag).
func newItem(from *origin, ref string, n imageName) *item {
	it := &item{from: from, ref: ref, tagAt: noTag}
	if strings.HasSuffix(ref, n.ref) {
		it.tagAt = int32(len(ref) - len(n.ref))
	}
	return it
}

// srcName is the name of it's source under its origin: the layout entry,
// the Docker store's NAME:TAG, or the registry reference.
func (it *item) srcName() string { return it.from.repo + it.ref }

// tag is the tag of its source's name (imageName.tag).
func (it *item) tag() string {
	if it.tagAt == noTag {
		return "latest"
	}
	if t, ok := strings.CutPrefix(it.ref[it.tagAt:], ":"); ok {
		return t
	}
	return "" // by digest
}

// source is its Result.Source.
func (it *item) source() string { return it.from.label + it.srcName() }

// destination is its Result.Destination.
func (p *plan) destination(it *item) string {
	if p.opts.Destination.Layout != "" {
		return it.destName
	}
	return "docker://" + it.destName
}

// report is its Result.
func (p *plan) report(it *item) Result {
	r := Result{Source: it.source(), Destination: p.destination(it), Action: it.result.Action, Digest: it.result.Digest}
	if m := it.result.more; m != nil {
		r.Error, r.Referrers, r.Note = m.Error, m.Referrers, m.Note
	}
	return r
}

// repoScope is what Prune may delete for one listed repository: entries of
// the destination layout named PREFIX:TAG whose TAG the source's Filter
// accepts and that this sync did not plan.
type repoScope struct {
	prefix string
	filter func(string) bool
}

// plan is what the source has against what the destination holds.
type plan struct {
	opts *Options
	held heldNames // destination layout's names, read once
	// heldDigests are the digests of held, for naming an image the layout
	// already has under another name instead of copying it; each maps to
	// itself, the one string of that digest that the plan keeps (a
	// digest the source has and the destination holds is stored once, not
	// once per name: at 100,000 names of one image, 14 MB).
	heldDigests map[digest.Digest]digest.Digest
	// heldSources are the digests of held converted images by the source
	// digest they were converted from.
	heldSources map[string]digest.Digest
	heldSource  map[string]string // by name
	items       []*item
	scopes      []repoScope
	failed      []Result // sources that could not be listed
	heads       heads    // manifest HEADs on one client per repository
}

// heldNames are the destination layout's names with the digest each
// holds, sorted by name: a sorted list rather than a map, so that an
// item's destName is the string held (a re-sync's names are the layout's:
// at 100,000 names, 8 MB less than a map and a string per item).
type heldNames []heldName

type heldName struct {
	name   string
	digest digest.Digest
}

// sort sorts h by name; of entries of one name (which the engine never
// writes, but a layout may hold), the last one read stays, as the last
// assignment to a map would.
func (h *heldNames) sort() {
	slices.SortStableFunc(*h, func(a, b heldName) int { return strings.Compare(a.name, b.name) })
	out := (*h)[:0]
	for i, e := range *h {
		if i+1 < len(*h) && (*h)[i+1].name == e.name {
			continue
		}
		out = append(out, e)
	}
	*h = out
}

// find returns the entry of name.
func (h heldNames) find(name string) (heldName, bool) {
	i, ok := slices.BinarySearchFunc(h, name, func(e heldName, name string) int { return strings.Compare(e.name, name) })
	if !ok {
		return heldName{}, false
	}
	return h[i], true
}

// newPlan lists the sources (one tag list per repository) and reads the
// destination layout's names once.
func newPlan(ctx context.Context, opts *Options) (*plan, error) {
	p := &plan{opts: opts, heldDigests: map[digest.Digest]digest.Digest{},
		heldSources: map[string]digest.Digest{}, heldSource: map[string]string{}}
	if dir := opts.Destination.Layout; dir != "" {
		_, err := layoutNames(ctx, dir, func(e layoutEntry) {
			d, ok := p.heldDigests[e.digest]
			if !ok {
				d = e.digest
				p.heldDigests[d] = d
			}
			p.held = append(p.held, heldName{e.name, d})
			if e.source != "" {
				p.heldSources[e.source] = d
				p.heldSource[e.name] = e.source
			}
		})
		if err != nil {
			return nil, fmt.Errorf("reading destination layout %s: %w", dir, err)
		}
		p.held.sort()
	}
	for _, s := range opts.Sources {
		var err error
		switch {
		case s.Layout != "":
			err = p.addLayout(ctx, s)
		case s.DockerStorage != "":
			err = p.addDockerStorage(ctx, s)
		default:
			err = p.addRepository(ctx, s)
		}
		if err != nil {
			if !opts.KeepGoing {
				return nil, err
			}
			p.failed = append(p.failed, Result{Source: sourceLabel(s), Action: ActionFailed, Error: err.Error()})
		}
	}
	p.dedupe()
	return p, nil
}

// shared is d as the plan keeps it: the string of heldDigests when the
// destination holds d.
func (p *plan) shared(d digest.Digest) digest.Digest {
	if h, ok := p.heldDigests[d]; ok {
		return h
	}
	return d
}

func sourceLabel(s Source) string {
	if s.Layout != "" {
		return "oci-layout:" + s.Layout
	}
	if s.DockerStorage != "" {
		return "docker-storage:" + s.DockerStorage
	}
	return "docker://" + s.Repository
}

func (p *plan) addRepository(ctx context.Context, s Source) error {
	repo, err := parseRepository(s.Repository)
	if err != nil {
		return err
	}
	from := &origin{sys: s.Sys, label: "docker://", repo: repo.Name()}
	var refs []string // tags or digests
	switch {
	case !dockerref.IsNameOnly(repo): // a single image, named as given
		from.repo = ""
		p.addDocker(newItem(from, repo.String(), nameOfDocker(repo)), nameOfDocker(repo))
		return nil
	case len(s.Tags) > 0:
		refs = s.Tags
	default:
		tags, err := listTags(ctx, s.Sys, repo)
		if err != nil {
			return err
		}
		for _, t := range tags {
			if p.opts.Referrers && isReferrersTag(t) {
				continue // carried with its subject
			}
			if s.Filter == nil || s.Filter(t) {
				refs = append(refs, t)
			}
		}
		if dir := p.opts.Destination.Layout; dir != "" {
			repoName := imageName{domain: nameOfDocker(repo).domain, path: nameOfDocker(repo).path}
			p.scopes = append(p.scopes, repoScope{prefix: scopedPath(repoName, layoutNaming(p.opts.Naming)) + ":", filter: s.Filter})
		}
	}
	p.items = slices.Grow(p.items, len(refs))
	for _, r := range refs {
		named, err := withTagOrDigest(repo, r)
		if err != nil {
			p.failed = append(p.failed, Result{Source: "docker://" + repo.Name() + ":" + r, Action: ActionFailed, Error: err.Error()})
			continue
		}
		// named is from.repo (its Name) and n.ref: the item keeps n.ref.
		n := nameOfDocker(named)
		p.addDocker(newItem(from, n.ref, n), n)
	}
	return nil
}

// addDocker plans the registry image it, named n. Its reference is made
// when it is checked (srcRef), not here: it is a valid reference already.
func (p *plan) addDocker(it *item, n imageName) {
	if d, ok := strings.CutPrefix(n.ref, "@"); ok {
		it.srcDigest = p.shared(digest.Digest(d))
	}
	p.addItem(it, n, nil)
}

func (p *plan) addLayout(ctx context.Context, s Source) error {
	wanted := map[string]bool{}
	for _, t := range s.Tags {
		wanted[t] = true
	}
	type entry struct {
		name   string
		digest digest.Digest
	}
	var entries []entry // the names kept, apart from the index's text
	exists, err := layoutNames(ctx, s.Layout, func(e layoutEntry) {
		if len(wanted) == 0 || wanted[e.name] {
			entries = append(entries, entry{e.name, p.shared(e.digest)})
		}
	})
	if err != nil {
		return fmt.Errorf("reading source layout %s: %w", s.Layout, err)
	}
	if !exists {
		return fmt.Errorf("source layout %s holds no named image", s.Layout)
	}
	from := &origin{sys: s.Sys, label: "oci-layout:" + s.Layout + ":", layout: s.Layout}
	p.items = slices.Grow(p.items, len(entries))
	for _, e := range entries {
		n := nameOfEntry(e.name)
		if s.Filter != nil && !s.Filter(n.tag()) || p.opts.Referrers && isReferrersTag(n.tag()) {
			continue
		}
		it := newItem(from, e.name, n)
		it.srcDigest = e.digest
		p.addItem(it, n, nil)
	}
	return nil
}

// layoutNaming resolves NamingDefault for a layout destination.
func layoutNaming(n Naming) Naming {
	if n == NamingDefault {
		return NamingFull
	}
	return n
}

// addItem names the destination of the item, named n, and appends it;
// an error of the source or of the naming fails this item alone.
func (p *plan) addItem(it *item, n imageName, err error) {
	p.items = append(p.items, it)
	if err == nil {
		err = p.setDestination(it, n)
	}
	if err != nil {
		it.result.fail(ActionFailed, err.Error())
	}
}

func (p *plan) setDestination(it *item, n imageName) error {
	d := p.opts.Destination
	if d.Layout != "" {
		name, err := layoutEntryName(n, p.opts.Naming, p.opts.Suffix)
		if err != nil {
			return err
		}
		it.destName = name
		if h, ok := p.held.find(name); ok {
			it.destName, it.held = h.name, h.digest
		}
		return nil
	}
	named, err := registryImageName(n, d.Registry, p.opts.Naming, p.opts.Suffix)
	if err != nil {
		return err
	}
	it.destName = named.String()
	return nil
}

// srcRef makes the reference of it's source.
func (it *item) srcRef() (types.ImageReference, error) {
	switch {
	case it.c != nil && it.c.src != nil:
		return it.c.src, nil
	case it.from.layout != "":
		return layoutSourceRef(it.from.layout, it.ref)
	case it.from.storage != "":
		return dockerStorageRef(it.from.storage, it.ref)
	}
	return docker.ParseReference("//" + it.srcName())
}

// destRef makes the reference of it's destination.
func (p *plan) destRef(it *item) (types.ImageReference, error) {
	if it.c != nil && it.c.dest != nil {
		return it.c.dest, nil
	}
	if dir := p.opts.Destination.Layout; dir != "" {
		return layoutDestRef(dir, it.destName)
	}
	return docker.ParseReference("//" + it.destName)
}

// refs makes it's copying state: the references of its source and
// destination, each resolving its layout directory's symlinks, which
// for a no-op re-sync of 100,000 names was a third of its CPU time when
// every item made them.
func (p *plan) refs(it *item) error {
	src, err := it.srcRef()
	if err != nil {
		return err
	}
	dest, err := p.destRef(it)
	if err != nil {
		return err
	}
	if it.c == nil {
		it.c = &copying{}
	}
	it.c.src, it.c.dest = src, dest
	return nil
}

// dedupe fails every item after the first that would write the same
// destination name: two sources must never race for one tag.
func (p *plan) dedupe() {
	first := map[string]*item{}
	for _, it := range p.items {
		if it.destName == "" || it.result.Action == ActionFailed {
			continue
		}
		if f, ok := first[it.destName]; ok {
			it.result.fail(ActionFailed, fmt.Sprintf("destination %s is also the destination of %s (choose another naming)", it.destName, f.source()))
			continue
		}
		first[it.destName] = it
	}
}

// check decides what to do with it: skip an immutable tag already held,
// find an unchanged one with one HEAD per side that needs it, or leave it
// to copy (Action "").
func (p *plan) check(ctx context.Context, it *item) {
	if it.result.Action != "" {
		return
	}
	d := p.opts.Destination
	if d.Registry != "" && it.held == "" {
		// Not there, or not readable: the copy will tell which.
		if dest, err := p.destRef(it); err == nil {
			it.held, _ = p.heads.digest(ctx, d.Sys, dest)
			it.held = p.shared(it.held)
		}
	}
	if tag := it.tag(); it.held != "" && tag != "" && p.opts.ImmutableTags != nil && p.opts.ImmutableTags.MatchString(tag) {
		it.result.Action, it.result.Digest = ActionSkipped, it.held
		return
	}
	if it.srcDigest == "" {
		src, err := it.srcRef()
		if err != nil {
			it.result.fail(ActionFailed, err.Error())
			return
		}
		dg, err := p.heads.digest(ctx, it.from.sys, src)
		if err != nil {
			it.result.fail(ActionFailed, fmt.Sprintf("checking %s: %v", transports.ImageName(src), err))
			return
		}
		it.srcDigest = p.shared(dg)
	}
	if heldSource := p.heldSource[it.destName]; it.srcDigest == it.held || heldSource != "" && p.sourceKey(it.srcDigest) == heldSource {
		it.result.Action, it.result.Digest = ActionUnchanged, it.held
		return
	}
	if err := p.refs(it); err != nil {
		it.result.fail(ActionFailed, err.Error())
		return
	}
	if it.held != "" && p.opts.Copy.ImageListSelection == copy.CopySystemImage {
		// Without --all a list is copied as its one instance for this
		// platform, so the destination holds the instance's digest: one
		// manifest GET tells whether that is still the one upstream.
		d, reused, err := listInstance(ctx, it.from.sys, it.c.src)
		if err != nil {
			return // the copy will say what is wrong
		}
		if reused.isList && d == it.held {
			reused.close()
			it.c = nil
			it.result.Action, it.result.Digest = ActionUnchanged, it.held
			return
		}
		it.c.reused = reused
		it.c.src = reused
	}
}

// pruneCandidates are the destination layout's names that a listed
// repository no longer has.
func (p *plan) pruneCandidates() []string {
	planned := map[string]bool{}
	for _, it := range p.items {
		planned[it.destName] = true
	}
	var out []string
	for _, h := range p.held {
		name := h.name
		if planned[name] {
			continue
		}
		for _, sc := range p.scopes {
			tag, ok := strings.CutPrefix(name, sc.prefix)
			if !ok || strings.ContainsAny(tag, "/:@") {
				continue
			}
			if p.opts.Suffix != "" {
				if tag, ok = strings.CutSuffix(tag, p.opts.Suffix); !ok {
					continue
				}
			}
			if sc.filter == nil || sc.filter(tag) {
				out = append(out, name)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}
