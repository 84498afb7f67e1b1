package dockerstorage_test

import (
	"fmt"
	"log"

	"go.podman.io/image/v5/transports/alltransports"

	_ "github.com/ocilayout/ocilayout/dockerstorage" // registers docker-storage:
)

// Naming images in a Docker store. Names are normalized as the Docker CLI
// does; the policy identity is that name, whatever the store's root. A
// tool copies from such a reference with copy.Image like from any other
// source, e.g. into "oci-layout:/srv/images:nginx".
func Example() {
	for _, name := range []string{
		"docker-storage:nginx",
		"docker-storage:/mnt/old-host/var/lib/docker:quay.io/ns/app:1.0",
		"docker-storage:/mnt/old-host/var/lib/docker:@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	} {
		ref, err := alltransports.ParseImageName(name)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ref.StringWithinTransport())
		fmt.Printf("  identity: %q docker: %v\n", ref.PolicyConfigurationIdentity(), ref.DockerReference())
	}
	// Output:
	// /var/lib/docker:docker.io/library/nginx:latest
	//   identity: "docker.io/library/nginx:latest" docker: docker.io/library/nginx:latest
	// /mnt/old-host/var/lib/docker:quay.io/ns/app:1.0
	//   identity: "quay.io/ns/app:1.0" docker: quay.io/ns/app:1.0
	// /mnt/old-host/var/lib/docker:@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
	//   identity: "" docker: <nil>
}
