package serve

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// snapshot is what one version of index.json serves, indexed for the
// requests: built once per change of the file, then read without locks by
// every request until the next change.
type snapshot struct {
	version indexVersion
	// tags maps repository to tag to entry; sortedTags and repos are the
	// sorted keys, for the paginated lists.
	tags       map[string]map[string]imgspecv1.Descriptor
	sortedTags map[string][]string
	repos      []string
	// manifests is every manifest and index served by digest: the
	// entries and what their indexes hold, at any depth.
	manifests map[digest.Digest]imgspecv1.Descriptor
	// referrers maps a subject to the entries that refer to it.
	referrers map[digest.Digest][]imgspecv1.Descriptor
}

// indexCache keeps the snapshot of the current index.json. A request
// costs one stat of index.json; the file is read and indexed again only
// when its identity (inode, size, mtime, ctime) changed, which every
// writer's rename guarantees, and by one request at a time (mu), while the
// others keep serving the previous snapshot's requests.
type indexCache struct {
	s     store
	names Names

	cur atomic.Pointer[snapshot]

	mu sync.Mutex // guards reloads, children and subjects
	// children caches what an index holds, by its digest: content
	// addressed, so never stale; kept only for indexes still listed.
	children map[digest.Digest][]imgspecv1.Descriptor
	// subjects caches the subject ("" for none) of untagged entries not
	// marked with annotationSubject, which other tools write as referrers.
	subjects map[digest.Digest]digest.Digest
}

func newIndexCache(s store, names Names) *indexCache {
	return &indexCache{s: s, names: names, children: map[digest.Digest][]imgspecv1.Descriptor{}, subjects: map[digest.Digest]digest.Digest{}}
}

func sameVersion(a, b indexVersion) bool { return a == b }

// get returns the snapshot of index.json as it is now.
func (c *indexCache) get(ctx context.Context) (*snapshot, error) {
	v, err := c.s.indexVersion()
	if err != nil {
		return nil, err
	}
	if cur := c.cur.Load(); cur != nil && sameVersion(cur.version, v) {
		return cur, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Stat again: another request may have reloaded while we waited. The
	// stat comes before the read, so a write in between only means one
	// more reload later, never a stale snapshot kept.
	if v, err = c.s.indexVersion(); err != nil {
		return nil, err
	}
	if cur := c.cur.Load(); cur != nil && sameVersion(cur.version, v) {
		return cur, nil
	}
	idx, err := c.s.index(ctx)
	if err != nil {
		return nil, err
	}
	snap := c.build(ctx, idx, v)
	c.cur.Store(snap)
	return snap, nil
}

// build indexes idx. Called with mu held.
func (c *indexCache) build(ctx context.Context, idx *imgspecv1.Index, v indexVersion) *snapshot {
	s := &snapshot{
		version:   v,
		tags:      map[string]map[string]imgspecv1.Descriptor{},
		manifests: make(map[digest.Digest]imgspecv1.Descriptor, len(idx.Manifests)),
		referrers: map[digest.Digest][]imgspecv1.Descriptor{},
	}
	children := map[digest.Digest][]imgspecv1.Descriptor{}
	subjects := map[digest.Digest]digest.Digest{}
	refSeen := map[digest.Digest]map[digest.Digest]bool{}
	addReferrer := func(subject digest.Digest, e imgspecv1.Descriptor) {
		if refSeen[subject] == nil {
			refSeen[subject] = map[digest.Digest]bool{}
		}
		if !refSeen[subject][e.Digest] {
			refSeen[subject][e.Digest] = true
			s.referrers[subject] = append(s.referrers[subject], e)
		}
	}
	for _, e := range idx.Manifests {
		name := e.Annotations[imgspecv1.AnnotationRefName]
		subject := digest.Digest(e.Annotations[annotationSubject])
		fallbackTag := isFallbackTag(e)
		if repo, tag, ok := entryTag(c.names, e); ok {
			if s.tags[repo] == nil {
				s.tags[repo] = map[string]imgspecv1.Descriptor{}
			}
			if _, taken := s.tags[repo][tag]; !taken {
				s.tags[repo][tag] = e
			}
		}
		if _, ok := s.manifests[e.Digest]; !ok {
			s.manifests[e.Digest] = e
			c.addChildren(ctx, s, e, children, 0)
		}
		switch {
		case fallbackTag:
		case subject != "":
			addReferrer(subject, e)
		case name == "" && (e.MediaType == imgspecv1.MediaTypeImageManifest || e.MediaType == imgspecv1.MediaTypeImageIndex):
			sub, ok := c.subjects[e.Digest]
			if !ok {
				sub = c.readSubject(ctx, e)
			}
			subjects[e.Digest] = sub
			if sub != "" {
				addReferrer(sub, e)
			}
		}
	}
	c.children, c.subjects = children, subjects
	s.sortedTags = make(map[string][]string, len(s.tags))
	for repo, tags := range s.tags {
		s.repos = append(s.repos, repo)
		sorted := make([]string, 0, len(tags))
		for t := range tags {
			sorted = append(sorted, t)
		}
		slices.Sort(sorted)
		s.sortedTags[repo] = sorted
	}
	slices.Sort(s.repos)
	return s
}

// entryTag is the repository and tag an index.json entry is served
// under. The engine's referrers fallback tags (ALG-HEX of the entry's
// subject) are not tags of a repository: they belong to the referrers API.
func entryTag(n Names, e imgspecv1.Descriptor) (repo, tag string, ok bool) {
	name := e.Annotations[imgspecv1.AnnotationRefName]
	if name == "" || isFallbackTag(e) {
		return "", "", false
	}
	return n.Split(name)
}

func isFallbackTag(e imgspecv1.Descriptor) bool {
	subject := digest.Digest(e.Annotations[annotationSubject])
	return subject != "" && e.Annotations[imgspecv1.AnnotationRefName] == subject.Algorithm().String()+"-"+subject.Encoded()
}

// maxIndexDepth bounds nested indexes, against a crafted cycle of digests
// (impossible with real hashes, but cheap to rule out).
const maxIndexDepth = 8

// addChildren adds what index e holds to s.manifests. An index that cannot
// be read (missing or corrupt) contributes nothing: its children are then
// not served by digest, and verify reports it.
func (c *indexCache) addChildren(ctx context.Context, s *snapshot, e imgspecv1.Descriptor, children map[digest.Digest][]imgspecv1.Descriptor, depth int) {
	if !isIndexType(e.MediaType) || depth >= maxIndexDepth {
		return
	}
	kids, ok := children[e.Digest]
	if !ok {
		kids, ok = c.children[e.Digest]
	}
	if !ok {
		data, err := c.s.readBlob(ctx, e.Digest, e.Size)
		if err != nil {
			return
		}
		var idx imgspecv1.Index
		if json.Unmarshal(data, &idx) != nil {
			return
		}
		for _, k := range idx.Manifests {
			if k.Digest.Validate() == nil {
				kids = append(kids, k)
			}
		}
	}
	children[e.Digest] = kids
	for _, k := range kids {
		if _, ok := s.manifests[k.Digest]; !ok {
			s.manifests[k.Digest] = k
			c.addChildren(ctx, s, k, children, depth+1)
		}
	}
}

// readSubject reads the subject of an untagged entry's manifest.
func (c *indexCache) readSubject(ctx context.Context, e imgspecv1.Descriptor) digest.Digest {
	data, err := c.s.readBlob(ctx, e.Digest, e.Size)
	if err != nil {
		return ""
	}
	var m struct {
		Subject *imgspecv1.Descriptor `json:"subject"`
	}
	if json.Unmarshal(data, &m) != nil || m.Subject == nil || m.Subject.Digest.Validate() != nil {
		return ""
	}
	return m.Subject.Digest
}

// lookupTag returns the entry repo:tag names; repoKnown says whether the
// repository has any tag.
func (s *snapshot) lookupTag(repo, tag string) (d imgspecv1.Descriptor, ok, repoKnown bool) {
	tags, repoKnown := s.tags[repo]
	d, ok = tags[tag]
	return d, ok, repoKnown
}

func isIndexType(t string) bool {
	return t == imgspecv1.MediaTypeImageIndex || t == mediaTypeDockerList
}
