package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ocilayout/ocilayout/internal/fixture"
)

// cliPath is the ocilayout binary TestMain builds: tests run it as a real
// process so that exit codes, stdout and stderr are what a user sees.
var cliPath string

func TestMain(m *testing.M) {
	os.Exit(fixture.RunWithCLI(m, "ocilayout-cli-test-", &cliPath))
}

// result is what one run of the CLI produced.
type result struct {
	stdout, stderr []byte
	code           int
}

// runCLI runs the binary with args in a clean, hermetic environment: HOME
// points at a temp dir so no user policy, auth file or registries.conf leaks in.
func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(cliPath, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME=", "XDG_RUNTIME_DIR=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("running ocilayout %q: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{stdout: stdout.Bytes(), stderr: stderr.Bytes(), code: code}
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := runCLI(t, args...)
	if r.code != 0 {
		t.Fatalf("ocilayout %s: exit %d\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// assertOneLineError checks the failure contract: the given exit code,
// nothing on stdout, and exactly one "ocilayout: " line on stderr that
// contains every one of wants.
func assertOneLineError(t *testing.T, r result, code int, wants ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if len(r.stdout) != 0 {
		t.Errorf("stdout not empty on failure: %q", r.stdout)
	}
	s := string(r.stderr)
	if !strings.HasPrefix(s, "ocilayout: ") || !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 {
		t.Errorf("stderr is not exactly one \"ocilayout: ...\" line: %q", s)
	}
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("stderr %q does not mention %q", s, w)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	r := mustRun(t, "--help")
	for _, c := range []string{"copy", "inspect", "list"} {
		if !bytes.Contains(r.stdout, []byte(c)) {
			t.Errorf("--help does not list %q:\n%s", c, r.stdout)
		}
	}
	r = mustRun(t, "copy", "--help")
	for _, f := range []string{"--all", "--override-os", "--override-arch", "--format", "--remove-signatures",
		"--policy", "--insecure-policy", "--src-tls-verify", "--dest-tls-verify", "--src-creds", "--dest-creds",
		"--dest-compress-format", "--preserve-digests", "--src-shared-blob-dir", "--dest-shared-blob-dir",
		"--quiet", "--retry-times", "--digestfile"} {
		if !bytes.Contains(r.stdout, []byte(f+" ")) {
			t.Errorf("copy --help does not document %s", f)
		}
	}
	if r := mustRun(t, "--version"); !bytes.HasPrefix(r.stdout, []byte("ocilayout version ")) {
		t.Errorf("--version printed %q", r.stdout)
	}
}

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                   "plain",
		"a\nb":                    "a; b",
		"  first \n\n  second\n ": "first; second",
		"keeps  inner  spacing\n": "keeps  inner  spacing",
		"":                        "",
	} {
		if got := oneLine(in); got != want {
			t.Errorf("oneLine(%q) = %q, want %q", in, got, want)
		}
	}
}
