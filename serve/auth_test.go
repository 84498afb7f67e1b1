package serve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// writeHtpasswd writes an htpasswd file of bcrypt entries for user=password pairs.
func writeHtpasswd(t testing.TB, users ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("# test users\n")
	for _, u := range users {
		name, pass, _ := strings.Cut(u, "=")
		h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(name + ":" + string(h) + "\n")
	}
	p := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAuth(t *testing.T) {
	l := newLayout(t)
	putImage(t, l, "a", "app:v1")
	readers, err := LoadHtpasswd(writeHtpasswd(t, "reader=rpass"))
	if err != nil {
		t.Fatal(err)
	}
	writers, err := LoadHtpasswd(writeHtpasswd(t, "writer=wpass"))
	if err != nil {
		t.Fatal(err)
	}
	h := New(l, WithPush(), WithUsers(readers, writers))
	for _, tc := range []struct {
		name, user, pass, method, path string
		status                         int
		code                           string
	}{
		{"anonymous pull", "", "", "GET", "/v2/app/manifests/v1", 401, codeUnauthorized},
		{"anonymous base", "", "", "GET", "/v2/", 401, codeUnauthorized},
		{"wrong password", "reader", "nope", "GET", "/v2/app/manifests/v1", 401, codeUnauthorized},
		{"unknown user", "mallory", "rpass", "GET", "/v2/app/manifests/v1", 401, codeUnauthorized},
		{"reader pulls", "reader", "rpass", "GET", "/v2/app/manifests/v1", 200, ""},
		{"reader pulls again (cached check)", "reader", "rpass", "HEAD", "/v2/app/manifests/v1", 200, ""},
		{"reader cannot push", "reader", "rpass", "POST", "/v2/app/blobs/uploads/", 403, codeDenied},
		{"reader cannot delete", "reader", "rpass", "DELETE", "/v2/app/manifests/v1", 403, codeDenied},
		{"writer pulls", "writer", "wpass", "GET", "/v2/app/tags/list", 200, ""},
		{"writer pushes", "writer", "wpass", "POST", "/v2/app/blobs/uploads/", 202, ""},
		{"writer's password for reader", "reader", "wpass", "GET", "/v2/", 401, codeUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{}
			if tc.user != "" {
				hdr = append(hdr, "Authorization", basic(tc.user, tc.pass))
			}
			resp := do(t, h, tc.method, tc.path, nil, hdr...)
			body := readBody(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.code != "" && errorCode(body) != tc.code {
				t.Errorf("code %q, want %q", errorCode(body), tc.code)
			}
			if tc.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("401 without a Basic challenge: %v", resp.Header)
			}
		})
	}
}

func TestLoadHtpasswdRefusesNonBcrypt(t *testing.T) {
	p := filepath.Join(t.TempDir(), "htpasswd")
	// An MD5-crypt (apr1) and a SHA1 entry, as htpasswd -m and -s write them.
	for _, line := range []string{"u:$apr1$x$y", "u:{SHA}abc", "u:plain", "nocolon"} {
		if err := os.WriteFile(p, []byte(line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadHtpasswd(p); err == nil {
			t.Errorf("%q accepted", line)
		}
	}
}
