package mirror

import (
	"context"
	"fmt"
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
// what the sync decided to do with it.
type item struct {
	name      imageName
	src       types.ImageReference
	srcSys    *types.SystemContext
	srcDigest digest.Digest // known without a request for layout sources and digest references
	destName  string        // entry name in a layout, Docker reference in a registry
	dest      types.ImageReference
	held      digest.Digest // what the destination holds under destName; "" for nothing
	// heldSource is the source key (sourceKey) held was converted from
	// (annotationSourceDigest), or "".
	heldSource string
	converted  bool   // this sync stored it converted, under another digest
	batch      *batch // the batch it.dest commits into, or nil
	// srcLayout and destLayout are the layout directories of src and dest,
	// whose references refs makes only for an image that is not found
	// unchanged: a reference resolves its directory's symlinks, which for
	// a no-op re-sync of 100,000 names was a third of its CPU time.
	srcLayout, srcEntry, destLayout string
	sameAs                          *item         // an earlier item of the same source digest, copied first
	reused                          *reusedSource // the source check opened, when it read the manifest
	result                          Result
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
	held map[string]digest.Digest // destination layout's names, read once
	// heldDigests are the digests of held, for naming an image the layout
	// already has under another name instead of copying it.
	heldDigests map[digest.Digest]bool
	// heldSources are the digests of held converted images by the source
	// digest they were converted from.
	heldSources map[string]digest.Digest
	heldSource  map[string]string // by name
	items       []*item
	scopes      []repoScope
	failed      []Result // sources that could not be listed
	heads       heads    // manifest HEADs on one client per repository
}

// newPlan lists the sources (one tag list per repository) and reads the
// destination layout's names once.
func newPlan(ctx context.Context, opts *Options) (*plan, error) {
	p := &plan{opts: opts, held: map[string]digest.Digest{}, heldDigests: map[digest.Digest]bool{},
		heldSources: map[string]digest.Digest{}, heldSource: map[string]string{}}
	if dir := opts.Destination.Layout; dir != "" {
		entries, err := layoutNames(ctx, dir)
		if err != nil {
			return nil, fmt.Errorf("reading destination layout %s: %w", dir, err)
		}
		for _, e := range entries {
			p.held[e.name] = e.digest
			p.heldDigests[e.digest] = true
			if e.source != "" {
				p.heldSources[e.source] = e.digest
				p.heldSource[e.name] = e.source
			}
		}
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
	var refs []string // tags or digests
	switch {
	case !dockerref.IsNameOnly(repo): // a single image
		p.addDocker(s, nameOfDocker(repo), repo.String())
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
	for _, r := range refs {
		named, err := withTagOrDigest(repo, r)
		if err != nil {
			p.failed = append(p.failed, Result{Source: "docker://" + repo.Name() + ":" + r, Action: ActionFailed, Error: err.Error()})
			continue
		}
		p.addDocker(s, nameOfDocker(named), named.String())
	}
	return nil
}

func (p *plan) addDocker(s Source, n imageName, ref string) {
	it := &item{name: n, srcSys: s.Sys}
	it.result.Source = "docker://" + ref
	src, err := docker.ParseReference("//" + ref)
	it.src = src
	if d, ok := strings.CutPrefix(n.ref, "@"); ok {
		it.srcDigest = digest.Digest(d)
	}
	p.addItem(it, err)
}

func (p *plan) addLayout(ctx context.Context, s Source) error {
	entries, err := layoutNames(ctx, s.Layout)
	if err != nil {
		return fmt.Errorf("reading source layout %s: %w", s.Layout, err)
	}
	if entries == nil {
		return fmt.Errorf("source layout %s holds no named image", s.Layout)
	}
	wanted := map[string]bool{}
	for _, t := range s.Tags {
		wanted[t] = true
	}
	for _, e := range entries {
		n := nameOfEntry(e.name)
		if len(wanted) > 0 && !wanted[e.name] || s.Filter != nil && !s.Filter(n.tag()) || p.opts.Referrers && isReferrersTag(n.tag()) {
			continue
		}
		it := &item{name: n, srcSys: s.Sys, srcDigest: e.digest, srcLayout: s.Layout, srcEntry: e.name}
		it.result.Source = "oci-layout:" + s.Layout + ":" + e.name
		p.addItem(it, nil)
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

// addItem names the item's destination and appends it; an error of the
// source or of the naming fails this item alone.
func (p *plan) addItem(it *item, err error) {
	p.items = append(p.items, it)
	if err == nil {
		err = p.setDestination(it)
	}
	if err != nil {
		it.result.Action, it.result.Error = ActionFailed, err.Error()
	}
}

func (p *plan) setDestination(it *item) error {
	d := p.opts.Destination
	if d.Layout != "" {
		name, err := layoutEntryName(it.name, p.opts.Naming, p.opts.Suffix)
		if err != nil {
			return err
		}
		it.destName, it.held, it.heldSource = name, p.held[name], p.heldSource[name]
		it.destLayout = d.Layout
		it.result.Destination = name
		return nil
	}
	named, err := registryImageName(it.name, d.Registry, p.opts.Naming, p.opts.Suffix)
	if err != nil {
		return err
	}
	it.destName = named.String()
	it.result.Destination = "docker://" + it.destName
	it.dest, err = docker.NewReference(named)
	return err
}

// refs makes the layout references of it's source and destination.
func (it *item) refs() error {
	var err error
	if it.src == nil && it.srcLayout != "" {
		if it.src, err = layoutSourceRef(it.srcLayout, it.srcEntry); err != nil {
			return err
		}
	}
	if it.dest == nil && it.destLayout != "" {
		it.dest, err = layoutDestRef(it.destLayout, it.destName)
	}
	return err
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
			it.result.Action = ActionFailed
			it.result.Error = fmt.Sprintf("destination %s is also the destination of %s (choose another naming)", it.destName, f.result.Source)
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
		it.held, _ = p.heads.digest(ctx, d.Sys, it.dest)
	}
	if tag := it.name.tag(); it.held != "" && tag != "" && p.opts.ImmutableTags != nil && p.opts.ImmutableTags.MatchString(tag) {
		it.result.Action, it.result.Digest = ActionSkipped, it.held
		return
	}
	if it.srcDigest == "" {
		dg, err := p.heads.digest(ctx, it.srcSys, it.src)
		if err != nil {
			it.result.Action, it.result.Error = ActionFailed, fmt.Sprintf("checking %s: %v", transports.ImageName(it.src), err)
			return
		}
		it.srcDigest = dg
	}
	if it.srcDigest == it.held || it.heldSource != "" && p.sourceKey(it.srcDigest) == it.heldSource {
		it.result.Action, it.result.Digest = ActionUnchanged, it.held
		return
	}
	if err := it.refs(); err != nil {
		it.result.Action, it.result.Error = ActionFailed, err.Error()
		return
	}
	if it.held != "" && p.opts.Copy.ImageListSelection == copy.CopySystemImage {
		// Without --all a list is copied as its one instance for this
		// platform, so the destination holds the instance's digest: one
		// manifest GET tells whether that is still the one upstream.
		d, reused, err := listInstance(ctx, it.srcSys, it.src)
		if err != nil {
			return // the copy will say what is wrong
		}
		if reused.isList && d == it.held {
			reused.close()
			it.result.Action, it.result.Digest = ActionUnchanged, it.held
			return
		}
		it.reused = reused
		it.src = reused
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
	for name := range p.held {
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
