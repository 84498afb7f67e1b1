package main

// Linking every transport containers/image ships (docker://, dir:, oci:,
// docker-archive:, containers-storage:, ...) plus ours is what lets copy and
// inspect take any reference alltransports.ParseImageName understands.
import (
	_ "go.podman.io/image/v5/transports/alltransports"

	_ "github.com/ocilayout/ocilayout/dockerstorage"
	_ "github.com/ocilayout/ocilayout/transport"
)
