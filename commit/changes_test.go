package commit

import (
	"reflect"
	"strings"
	"testing"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestCommitChanges applies each --change to the same base config, as
// podman commit --change would, and checks the malformed ones fail
// naming the input.
func TestCommitChanges(t *testing.T) {
	base := func() imgspecv1.ImageConfig {
		return imgspecv1.ImageConfig{
			Env: []string{"PATH=/bin", "A=1"}, Cmd: []string{"sh"}, WorkingDir: "/app",
			Labels: map[string]string{"k": "v"},
		}
	}
	for _, tc := range []struct {
		change string
		edit   func(c *imgspecv1.ImageConfig)
	}{
		{`CMD ["/bin/app", "-v"]`, func(c *imgspecv1.ImageConfig) { c.Cmd = []string{"/bin/app", "-v"} }},
		{`cmd echo "hi there"`, func(c *imgspecv1.ImageConfig) { c.Cmd = []string{"/bin/sh", "-c", `echo "hi there"`} }},
		{`ENTRYPOINT []`, func(c *imgspecv1.ImageConfig) { c.Entrypoint = []string{} }},
		{`ENTRYPOINT=/init`, func(c *imgspecv1.ImageConfig) { c.Entrypoint = []string{"/bin/sh", "-c", "/init"} }},
		{`ENV A=2 B="x y" C=z\ w`, func(c *imgspecv1.ImageConfig) { c.Env = []string{"PATH=/bin", "A=2", "B=x y", "C=z w"} }},
		{`ENV GREETING hello world`, func(c *imgspecv1.ImageConfig) { c.Env = append(c.Env, "GREETING=hello world") }},
		{`LABEL k=w "with space"='single quoted'`, func(c *imgspecv1.ImageConfig) { c.Labels = map[string]string{"k": "w", "with space": "single quoted"} }},
		{`EXPOSE 80 443/TCP 53/udp`, func(c *imgspecv1.ImageConfig) {
			c.ExposedPorts = map[string]struct{}{"80/tcp": {}, "443/tcp": {}, "53/udp": {}}
		}},
		{`USER nobody`, func(c *imgspecv1.ImageConfig) { c.User = "nobody" }},
		{`WORKDIR sub/dir`, func(c *imgspecv1.ImageConfig) { c.WorkingDir = "/app/sub/dir" }},
		{`WORKDIR /srv/../opt`, func(c *imgspecv1.ImageConfig) { c.WorkingDir = "/opt" }},
		{`VOLUME /data /cache`, func(c *imgspecv1.ImageConfig) { c.Volumes = map[string]struct{}{"/data": {}, "/cache": {}} }},
		{`VOLUME ["/data"]`, func(c *imgspecv1.ImageConfig) { c.Volumes = map[string]struct{}{"/data": {}} }},
		{`STOPSIGNAL SIGTERM`, func(c *imgspecv1.ImageConfig) { c.StopSignal = "SIGTERM" }},
	} {
		ch, err := parseChange(tc.change)
		if err != nil {
			t.Errorf("parseChange(%q): %v", tc.change, err)
			continue
		}
		got, want := base(), base()
		ch(&got)
		tc.edit(&want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q gives\n%+v\nwant\n%+v", tc.change, got, want)
		}
	}
	for _, bad := range []string{"", "CMD", "FROM scratch", "RUN make", "ENV", "ENV =x", "LABEL novalue", `LABEL a="open`,
		"EXPOSE", "EXPOSE 0", "EXPOSE 70000", "EXPOSE 80/icmp", "EXPOSE http", "USER ", "WORKDIR", "VOLUME"} {
		if _, err := parseChange(bad); err == nil {
			t.Errorf("parseChange(%q) succeeded", bad)
		} else if !strings.Contains(err.Error(), "invalid change") {
			t.Errorf("parseChange(%q): %v, want an error naming the change", bad, err)
		}
	}
}
