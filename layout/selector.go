package layout

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
)

// refNameRegexp is the image-spec grammar for the org.opencontainers.image.ref.name
// annotation, the same expression containers/image's oci: transport uses, so
// that a NAME valid there is valid here and the other way round.
var refNameRegexp = regexp.MustCompile(`^` + refComponent + `(?:/` + refComponent + `)*$`)

const (
	refSeparator = `(?:[-._:@+]|--)`
	refAlphanum  = `(?:[A-Za-z0-9]+)`
	refComponent = `(?:` + refAlphanum + `(?:` + refSeparator + refAlphanum + `)*)`
)

// selectorKind says which of a Selector's fields is meaningful.
type selectorKind int

const (
	selectAny selectorKind = iota
	selectName
	selectIndex
	selectDigest
)

// Selector chooses one entry of index.json: by the ref.name annotation, by
// position, by manifest digest, or (the zero value) the only entry there is.
// It is a value type so that references can be compared with ==.
type Selector struct {
	kind   selectorKind
	name   string
	index  int
	digest digest.Digest
}

// byName selects the first entry whose org.opencontainers.image.ref.name is name.
func byName(name string) (Selector, error) {
	if err := ValidateName(name); err != nil {
		return Selector{}, err
	}
	return Selector{kind: selectName, name: name}, nil
}

// byIndex selects the entry at position i of index.json's manifests.
func byIndex(i int) (Selector, error) {
	if i < 0 {
		return Selector{}, fmt.Errorf("invalid index @%d: must not be negative", i)
	}
	return Selector{kind: selectIndex, index: i}, nil
}

// byDigest selects the manifest with digest d, at any depth of nested indexes.
func byDigest(d digest.Digest) (Selector, error) {
	if err := d.Validate(); err != nil {
		return Selector{}, fmt.Errorf("invalid digest %q: %w", string(d), err)
	}
	return Selector{kind: selectDigest, digest: d}, nil
}

// ParseSelector parses the part of a reference after PATH: "" (the only
// entry), "NAME", "@N" or "@ALG:HEX". It is the one place that knows this
// grammar; errors name the input.
func ParseSelector(s string) (Selector, error) {
	if s == "" {
		return Selector{}, nil
	}
	if rest, ok := strings.CutPrefix(s, "@"); ok {
		if strings.Contains(rest, ":") {
			return byDigest(digest.Digest(rest))
		}
		n, err := strconv.Atoi(rest)
		if err != nil || !isDecimal(rest) {
			return Selector{}, fmt.Errorf("invalid selector %q: @ must be followed by a non-negative index or a digest", s)
		}
		return byIndex(n)
	}
	return byName(s)
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validateName reports whether name is a valid ref.name ("" is not);
// callers outside use ParseSelector, whose Name is then name.
func ValidateName(name string) error {
	if !refNameRegexp.MatchString(name) {
		return fmt.Errorf("invalid image name %q: must match the OCI ref.name grammar (components of letters and digits joined by one of -._:@+ or --, separated by /)", name)
	}
	return nil
}

// String returns the selector in the form ParseSelector reads.
func (s Selector) String() string {
	switch s.kind {
	case selectName:
		return s.name
	case selectIndex:
		return "@" + strconv.Itoa(s.index)
	case selectDigest:
		return "@" + s.digest.String()
	}
	return ""
}

// isZero reports whether s is the zero Selector (the only image); callers
// outside compare with Selector{}.
func (s Selector) isZero() bool { return s.kind == selectAny }

// Name returns the ref.name selected, or "".
func (s Selector) Name() string { return s.name }

// position returns the position selected and true, or 0 and false.
func (s Selector) position() (int, bool) { return s.index, s.kind == selectIndex }

// manifestDigest returns the manifest digest selected, or "".
func (s Selector) manifestDigest() digest.Digest { return s.digest }
