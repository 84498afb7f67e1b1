package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/serve"
)

type serveOptions struct {
	global        *globalOptions
	listen        string
	tlsCert       string
	tlsKey        string
	htpasswd      string
	htpasswdRW    string
	allowPush     bool
	defaultRepo   string
	sharedBlobDir string
	uploadTimeout time.Duration
}

func newServeCommand(global *globalOptions) *cobra.Command {
	opts := &serveOptions{global: global}
	cmd := &cobra.Command{
		Use:   "serve [flags] PATH",
		Short: "Serve an OCI layout over the OCI distribution API (a read-only registry by default)",
		Long: `Serve the layout at PATH as a registry: every client that pulls over the
OCI distribution API (containerd, CRI-O, podman, skopeo, crane, oras) can
pull from it, by tag and by digest, with the referrers API. The layout
stays the only state: other processes may copy into it, delete from it and
gc it while it is served.

Names: an index.json name HOST/PATH:TAG (HOST has a '.' or ':' or is
localhost) is served as repository PATH, tag TAG; PATH:TAG as PATH, TAG;
a bare TAG as repository --default-repo, tag TAG.

--allow-push accepts pushes and deletes (through the same locked, atomic
writes as ocilayout copy); on an address other than loopback it needs
--htpasswd-rw. Access log lines go to stderr; SIGTERM or SIGINT stops the
server after the requests in flight.`,
		Example: `  ocilayout serve ./images
  ocilayout serve --listen :5000 --htpasswd readers.htpasswd ./images
  ocilayout serve --allow-push --htpasswd-rw writers.htpasswd --tls-cert c.pem --tls-key k.pem --listen :443 ./images`,
		Args: exactArgs(1, "PATH"),
		RunE: func(cmd *cobra.Command, args []string) error { return opts.run(cmd, args) },
	}
	f := cmd.Flags()
	f.StringVar(&opts.listen, "listen", "127.0.0.1:5000", "`ADDRESS` to listen on (host:port)")
	f.StringVar(&opts.tlsCert, "tls-cert", "", "serve HTTPS with this certificate `FILE` (PEM; needs --tls-key)")
	f.StringVar(&opts.tlsKey, "tls-key", "", "private key `FILE` of --tls-cert")
	f.StringVar(&opts.htpasswd, "htpasswd", "", "require basic auth; users in this htpasswd `FILE` (bcrypt) may pull")
	f.StringVar(&opts.htpasswdRW, "htpasswd-rw", "", "require basic auth; users in this htpasswd `FILE` (bcrypt) may pull and push")
	f.BoolVar(&opts.allowPush, "allow-push", false, "accept pushes and deletes")
	f.StringVar(&opts.defaultRepo, "default-repo", "", "`REPOSITORY` of names that are a bare tag (default: PATH's base name, if it is a valid repository name)")
	f.StringVar(&opts.sharedBlobDir, "shared-blob-dir", "", "`DIRECTORY` the layout keeps its blobs in")
	f.DurationVar(&opts.uploadTimeout, "upload-timeout", 10*time.Minute, "drop an upload idle this long (an open upload keeps gc waiting)")
	return cmd
}

func (opts *serveOptions) run(cmd *cobra.Command, args []string) (retErr error) {
	if (opts.tlsCert == "") != (opts.tlsKey == "") {
		return usagef("serve: --tls-cert and --tls-key go together")
	}
	if opts.allowPush && opts.htpasswdRW == "" && !isLoopback(opts.listen) {
		return usagef("serve: --allow-push on %s, which is not a loopback address, needs --htpasswd-rw: anyone who can reach it could write the layout", opts.listen)
	}
	var sopts []serve.Option
	names := serve.Names{DefaultRepo: opts.defaultRepo}
	if !cmd.Flags().Changed("default-repo") {
		names.DefaultRepo = defaultRepo(args[0])
	}
	sopts = append(sopts, serve.WithNames(names), serve.WithAccessLog(cmd.ErrOrStderr()), serve.WithUploadTimeout(opts.uploadTimeout))
	if opts.allowPush {
		sopts = append(sopts, serve.WithPush())
	}
	if opts.htpasswd != "" || opts.htpasswdRW != "" {
		var readers, writers *serve.Htpasswd
		var err error
		if opts.htpasswd != "" {
			if readers, err = serve.LoadHtpasswd(opts.htpasswd); err != nil {
				return err
			}
		}
		if opts.htpasswdRW != "" {
			if writers, err = serve.LoadHtpasswd(opts.htpasswdRW); err != nil {
				return err
			}
		}
		sopts = append(sopts, serve.WithUsers(readers, writers))
	}
	l, err := opts.openLayout(args[0])
	if err != nil {
		return err
	}
	defer func() {
		if err := l.Close(); err != nil && retErr == nil {
			retErr = fmt.Errorf("closing layout %s: %w", args[0], err)
		}
	}()
	ln, err := net.Listen("tcp", opts.listen)
	if err != nil {
		return fmt.Errorf("serve: listening on %s: %w", opts.listen, err)
	}
	srv := &http.Server{Handler: serve.New(l, sopts...), ReadHeaderTimeout: 30 * time.Second}
	scheme := "http"
	if opts.tlsCert != "" {
		scheme = "https"
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "ocilayout serve: serving %s on %s://%s (push %s, repository of bare tags %q)\n",
		args[0], scheme, ln.Addr(), map[bool]string{true: "allowed", false: "refused"}[opts.allowPush], names.DefaultRepo)
	done := make(chan error, 1)
	go func() {
		if opts.tlsCert != "" {
			done <- srv.ServeTLS(ln, opts.tlsCert, opts.tlsKey)
		} else {
			done <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		return fmt.Errorf("serve: %w", err)
	case <-cmd.Context().Done():
	}
	// Let the requests in flight finish; uploads left open are dropped
	// with the process, and gc reclaims their temp files.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("serve: shutting down: %w", err)
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "ocilayout serve: stopped")
	return nil
}

// openLayout opens the layout to serve; with --allow-push a missing or
// empty directory is made a layout, as a registry starts empty.
func (opts *serveOptions) openLayout(dir string) (*layout.Layout, error) {
	if !opts.allowPush {
		return opts.global.openLayout(dir, opts.sharedBlobDir)
	}
	lopts := opts.global.layoutOptions()
	if opts.sharedBlobDir != "" {
		lopts = append(lopts, layout.WithSharedBlobDir(opts.sharedBlobDir))
	}
	return layout.Create(dir, lopts...)
}

// isLoopback reports whether a listen address only accepts local
// connections: a loopback IP or "localhost"; an empty host (all
// interfaces) is not.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// defaultRepo is the repository of bare tags: the layout directory's base
// name in lower case, or none when that is not a repository name.
func defaultRepo(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	name := strings.ToLower(filepath.Base(abs))
	if _, _, ok := (serve.Names{}).Split(name + ":x"); !ok {
		return ""
	}
	return name
}
