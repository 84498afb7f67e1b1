package shortname_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ocilayout/ocilayout/shortname"
	"go.podman.io/image/v5/types"
)

// A tool decides with Applies whether an argument is a short name, and
// resolves it with Resolve. Here registries.conf is enforcing and
// searches two registries, so "app:1" is ambiguous: without a terminal
// to ask, Resolve refuses before contacting either registry.
func Example() {
	dir, _ := os.MkdirTemp("", "shortname-example-")
	defer os.RemoveAll(dir)
	conf := filepath.Join(dir, "registries.conf")
	_ = os.WriteFile(conf, []byte(`short-name-mode = "enforcing"
unqualified-search-registries = ["registry-a.example", "registry-b.example"]
`), 0o644)
	sys := &types.SystemContext{
		SystemRegistriesConfPath:    conf,
		SystemRegistriesConfDirPath: filepath.Join(dir, "none"),
		UserShortNameAliasConfPath:  filepath.Join(dir, "aliases.conf"),
	}

	for _, arg := range []string{"docker://debian:12", "app:1"} {
		if !shortname.Applies(arg) {
			fmt.Printf("%s: a TRANSPORT:DETAILS reference\n", arg)
			continue
		}
		_, err := shortname.Resolve(context.Background(), sys, arg)
		var amb *shortname.AmbiguousError
		if errors.As(err, &amb) {
			fmt.Printf("%s: ambiguous, one of %v\n", arg, amb.Candidates)
		}
	}
	// Output:
	// docker://debian:12: a TRANSPORT:DETAILS reference
	// app:1: ambiguous, one of [registry-a.example/app:1 registry-b.example/app:1]
}
