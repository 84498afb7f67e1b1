package layout

import (
	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// referrerSets maps each subject to the digests of its referrer entries
// (untagged entries carrying AnnotationSubject; a fallback tag is not one
// of its own referrers).
type referrerSets map[digest.Digest]map[digest.Digest]bool

func referrersOf(entries []imgspecv1.Descriptor) referrerSets {
	sets := referrerSets{}
	for _, e := range entries {
		sets.add(e.Annotations[AnnotationSubject], entryName(e), string(e.Digest))
	}
	return sets
}

// add records the entry of that subject annotation, name and digest, if it
// is a referrer.
func (sets referrerSets) add(subject, name, d string) {
	s := digest.Digest(subject)
	if s == "" || name != "" {
		return
	}
	if sets[s] == nil {
		sets[s] = map[digest.Digest]bool{}
	}
	sets[s][digest.Digest(d)] = true
}

// removedReferrers compares the referrers a transaction started with to
// those it ends with and returns, per subject, the referrers no entry
// names any more. Whatever verb removed them (Delete, a tag move, GC's
// orphan removal), finish then rewrites the subject's fallback tag without
// them: the tag would otherwise keep listing a referrer the index dropped,
// and readers (inspect, signedBy) would still find it.
func removedReferrers(before, after referrerSets) referrerSets {
	gone := referrerSets{}
	for s, refs := range before {
		for d := range refs {
			if !after[s][d] {
				if gone[s] == nil {
					gone[s] = map[digest.Digest]bool{}
				}
				gone[s][d] = true
			}
		}
	}
	return gone
}
