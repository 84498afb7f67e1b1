package dockerstorage

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

const testID = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestDockerStorageParseReference(t *testing.T) {
	for _, c := range []struct {
		in, within, identity, docker string
		namespaces                   []string
	}{
		{"nginx", "/var/lib/docker:docker.io/library/nginx:latest", "docker.io/library/nginx:latest", "docker.io/library/nginx:latest",
			[]string{"docker.io/library/nginx", "docker.io/library", "docker.io", "*.io"}},
		{"/srv/docker:nginx:1.25", "/srv/docker:docker.io/library/nginx:1.25", "docker.io/library/nginx:1.25", "docker.io/library/nginx:1.25",
			[]string{"docker.io/library/nginx", "docker.io/library", "docker.io", "*.io"}},
		{"/srv/docker/:quay.io/ns/app", "/srv/docker:quay.io/ns/app:latest", "quay.io/ns/app:latest", "quay.io/ns/app:latest",
			[]string{"quay.io/ns/app", "quay.io/ns", "quay.io", "*.io"}},
		{"localhost:5000/app:v1", "/var/lib/docker:localhost:5000/app:v1", "localhost:5000/app:v1", "localhost:5000/app:v1",
			[]string{"localhost:5000/app", "localhost:5000"}},
		{"/srv/d:nginx@" + testID, "/srv/d:docker.io/library/nginx@" + testID, "docker.io/library/nginx@" + testID, "docker.io/library/nginx@" + testID,
			[]string{"docker.io/library/nginx", "docker.io/library", "docker.io", "*.io"}},
		{"/srv/d:@" + testID, "/srv/d:@" + testID, "", "<nil>", nil},
		{"@" + testID, "/var/lib/docker:@" + testID, "", "<nil>", nil},
	} {
		t.Run(c.in, func(t *testing.T) {
			ref, err := Transport.ParseReference(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := ref.StringWithinTransport(); got != c.within {
				t.Errorf("StringWithinTransport = %q, want %q", got, c.within)
			}
			again, err := Transport.ParseReference(ref.StringWithinTransport())
			if err != nil || !reflect.DeepEqual(again, ref) {
				t.Errorf("StringWithinTransport does not round-trip: %#v, %v; want %#v", again, err, ref)
			}
			if got := ref.PolicyConfigurationIdentity(); got != c.identity {
				t.Errorf("identity = %q, want %q", got, c.identity)
			}
			if got := ref.PolicyConfigurationNamespaces(); !reflect.DeepEqual(got, c.namespaces) {
				t.Errorf("namespaces = %q, want %q", got, c.namespaces)
			}
			docker := "<nil>"
			if d := ref.DockerReference(); d != nil {
				docker = d.String()
			}
			if docker != c.docker {
				t.Errorf("DockerReference = %s, want %s", docker, c.docker)
			}
			for _, scope := range append(c.namespaces, c.identity) {
				if scope == "" {
					continue
				}
				if err := Transport.ValidatePolicyConfigurationScope(scope); err != nil {
					t.Errorf("scope %q that the reference matches is refused: %v", scope, err)
				}
			}
		})
	}
}

func TestDockerStorageParseReferenceErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "empty image name"},
		{"/srv/docker", "no image after ROOT"},
		{"/srv/docker:", "no image after ROOT"},
		{"/srv/docker:@sha256:abc", "image ID"},
		{"/srv/docker:@nginx", "image ID"},
		{"Nginx", "must be lowercase"},
		{"/srv/docker:nginx:1:2", "invalid"},
		{"nginx:1@" + testID, "both a tag and a digest"},
	} {
		if _, err := ParseReference(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseReference(%q) = %v, want an error containing %q", c.in, err, c.want)
		}
	}
}

func TestDockerStorageValidateScope(t *testing.T) {
	for _, c := range []struct {
		scope string
		ok    bool
	}{
		{"docker.io/library/nginx", true},
		{"docker.io/library/nginx:1.25", true},
		{"docker.io", true},
		{"localhost:5000", true},
		{"*.example.com", true},
		{testID, false},
		{"docker.io/Library/x", false},
		{"*.", false},
		{"/var/lib/docker", false},
	} {
		if err := Transport.ValidatePolicyConfigurationScope(c.scope); (err == nil) != c.ok {
			t.Errorf("ValidatePolicyConfigurationScope(%q) = %v, want ok=%v", c.scope, err, c.ok)
		}
	}
}

func TestDockerStorageReadOnly(t *testing.T) {
	ref, err := ParseReference(t.TempDir() + ":nginx")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ref.NewImageDestination(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("NewImageDestination = %v, want a read-only error", err)
	}
	if err := ref.DeleteImage(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("DeleteImage = %v, want a read-only error", err)
	}
	if _, err := ref.NewImageSource(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "no Docker image store") {
		t.Errorf("NewImageSource on an empty directory = %v, want an error saying it holds no store", err)
	}
}
