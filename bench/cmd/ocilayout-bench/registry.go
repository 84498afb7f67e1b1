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
// "ready HOST:PORT" once it accepts connections.
func serveRegistry(args []string) error {
	fs := newFlags("registry")
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	root := fs.String("root", "", "store blobs in this directory (filesystem driver) instead of memory")
	_ = fs.Parse(args)
	config := &configuration.Configuration{Storage: configuration.Storage{
		"inmemory":    configuration.Parameters{},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
	}}
	if *root != "" {
		delete(config.Storage, "inmemory")
		config.Storage["filesystem"] = configuration.Parameters{"rootdirectory": *root}
	}
	config.Log.Level = "error"
	config.Log.AccessLog.Disabled = true
	config.HTTP.Secret = "ocilayout-bench"
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("ready %s\n", ln.Addr())
	return http.Serve(ln, handlers.NewApp(context.Background(), config))
}
