package commit

import (
	"fmt"
	"path/filepath"
	"strings"

	"go.podman.io/image/v5/types"
	"go.podman.io/storage"
)

// Transport is the transport of References, named "commit". It is not
// registered with containers/image's transports: a commit is asked for
// explicitly (ocilayout commit, NewReference), never picked from an image
// name.
var Transport types.ImageTransport = commitTransport{}

type commitTransport struct{}

func (commitTransport) Name() string { return "commit" }

// ParseReference reads "[DRIVER@GRAPHROOT+RUNROOT]CONTAINER" or just
// "CONTAINER" (the store of storage.conf, as podman opens it) and opens
// that store with storage.GetStore, which keeps it for the process.
func (commitTransport) ParseReference(s string) (types.ImageReference, error) {
	opts, err := storage.DefaultStoreOptions()
	if err != nil {
		return nil, fmt.Errorf("reading the default store options: %w", err)
	}
	container := s
	if strings.HasPrefix(s, "[") {
		spec, rest, ok := strings.Cut(s[1:], "]")
		if !ok {
			return nil, fmt.Errorf("invalid commit reference %q: no ] after [", s)
		}
		driver, roots, ok := strings.Cut(spec, "@")
		graph, run, ok2 := strings.Cut(roots, "+")
		if !ok || !ok2 || driver == "" || !filepath.IsAbs(graph) || !filepath.IsAbs(run) {
			return nil, fmt.Errorf("invalid commit reference %q: the store must be [DRIVER@GRAPHROOT+RUNROOT] with absolute paths", s)
		}
		opts.GraphDriverName, opts.GraphRoot, opts.RunRoot = driver, graph, run
		container = rest
	}
	if container == "" {
		return nil, fmt.Errorf("invalid commit reference %q: no container", s)
	}
	store, err := storage.GetStore(opts)
	if err != nil {
		return nil, fmt.Errorf("opening the store %s: %w", opts.GraphRoot, err)
	}
	return NewReference(store, container)
}

// ValidatePolicyConfigurationScope accepts what
// PolicyConfigurationIdentity and PolicyConfigurationNamespaces return:
// "[DRIVER@GRAPHROOT]" with an absolute, clean GRAPHROOT, optionally
// followed by a container ID.
func (commitTransport) ValidatePolicyConfigurationScope(scope string) error {
	spec, _, ok := strings.Cut(strings.TrimPrefix(scope, "["), "]")
	driver, graph, ok2 := strings.Cut(spec, "@")
	if !strings.HasPrefix(scope, "[") || !ok || !ok2 || driver == "" || !filepath.IsAbs(graph) || filepath.Clean(graph) != graph {
		return fmt.Errorf("invalid commit policy scope %q: must be [DRIVER@/ABSOLUTE/GRAPHROOT] optionally followed by a container ID", scope)
	}
	return nil
}

// storeSpec is the "[DRIVER@GRAPHROOT+RUNROOT]" that ParseReference reads.
func storeSpec(s storage.Store) string {
	return fmt.Sprintf("[%s@%s+%s]", s.GraphDriverName(), s.GraphRoot(), s.RunRoot())
}
