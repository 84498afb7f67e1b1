package main

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

// serveRegistry serves a distribution registry over plain HTTP until
// killed, in memory or, with -root, on the filesystem driver; it prints
// "ready HOST:PORT" once it accepts connections. With -count it counts
// the requests at its handler (see countRequests); with -gen-tags it
// starts holding generated images (see populate), written through the
// storage API, so that a registry of 100,000 tags is ready in seconds.
func serveRegistry(args []string) error {
	fs := newFlags("registry")
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	root := fs.String("root", "", "store blobs in this directory (filesystem driver) instead of memory")
	count := fs.Bool("count", false, "count requests; GET /ocilayout-bench/requests reads the counts, POST .../reset zeroes them")
	var g genSpec
	fs.StringVar(&g.repo, "gen-repo", "bench/app", "repository of the generated images (REPO, or REPO%d with -gen-repos)")
	fs.IntVar(&g.tags, "gen-tags", 0, "tags to generate in each repository before serving")
	fs.IntVar(&g.repos, "gen-repos", 1, "repositories to generate (the -gen-repo name formatted with 0..N-1 when N > 1)")
	fs.BoolVar(&g.distinct, "gen-distinct", false, "each generated tag is an image of its own (one small layer); otherwise all tags name one image")
	fs.BoolVar(&g.schema2, "gen-schema2", false, "generate Docker schema2 manifests instead of OCI ones")
	_ = fs.Parse(args)
	config := &configuration.Configuration{Storage: configuration.Storage{
		"inmemory":    configuration.Parameters{},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
	}}
	if *root != "" {
		delete(config.Storage, "inmemory")
		config.Storage["filesystem"] = configuration.Parameters{"rootdirectory": *root}
	}
	if g.tags > 0 {
		d, err := populate(context.Background(), *root, g)
		if err != nil {
			return fmt.Errorf("generating images: %w", err)
		}
		if *root == "" { // serve the populated in-memory driver itself
			delete(config.Storage, "inmemory")
			config.Storage[sharedDriverName] = configuration.Parameters{}
			shared.driver = d
		}
	}
	config.Log.Level = "error"
	config.Log.AccessLog.Disabled = true
	config.HTTP.Secret = "ocilayout-bench"
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var h http.Handler = handlers.NewApp(context.Background(), config)
	if *count {
		h = countRequests(h)
	}
	fmt.Printf("ready %s\n", ln.Addr())
	return http.Serve(ln, h)
}
