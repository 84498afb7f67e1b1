package serve_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/ocilayout/ocilayout/layout"
	"github.com/ocilayout/ocilayout/serve"
)

// A layout served read-only: bare tags ("v1") go under repository "app",
// and the handler answers the distribution API's version check.
func Example() {
	dir, _ := os.MkdirTemp("", "serve-example-")
	defer os.RemoveAll(dir)
	l, err := layout.Create(filepath.Join(dir, "images"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	srv := httptest.NewServer(serve.New(l, serve.WithNames(serve.Names{DefaultRepo: "app"})))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v2/")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.Status, resp.Header.Get("Docker-Distribution-API-Version"))
	// Output: 200 OK registry/2.0
}
