package commit_test

import (
	"context"
	"fmt"

	"github.com/ocilayout/ocilayout/commit"
	"github.com/ocilayout/ocilayout/reference"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/signature"
	"go.podman.io/storage"
)

// Commit container "web" of podman's store (as storage.conf describes
// it) into an OCI layout, with a message and a changed CMD. It is
// compiled but not run (it needs root and a container named web); the
// TestCommit tests run the same calls on a temp store.
func Example() {
	ctx := context.Background()
	opts, err := storage.DefaultStoreOptions()
	if err != nil {
		panic(err)
	}
	store, err := storage.GetStore(opts)
	if err != nil {
		panic(err)
	}
	src, err := commit.NewReference(store, "web", commit.WithMessage("before the upgrade"), commit.WithChanges("CMD /start.sh"))
	if err != nil {
		panic(err)
	}
	dest, err := reference.NewReference("/srv/images", "web:snapshot")
	if err != nil {
		panic(err)
	}
	policy, _ := signature.NewPolicyContext(&signature.Policy{Default: []signature.PolicyRequirement{signature.NewPRInsecureAcceptAnything()}})
	defer policy.Destroy()
	if _, err := copy.Image(ctx, policy, dest, src, nil); err != nil {
		panic(err)
	}
	fmt.Println("committed")
}
