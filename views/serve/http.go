package serve

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

//go:embed web/index.html web/app.js web/style.css
var assets embed.FS

// Handler serves the web page at /, its data at /api/report and /api/plots
// and the Prometheus metrics at /metrics.
func (v *Views) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(v.Registry(), promhttp.HandlerOpts{ErrorLog: nil}))
	mux.HandleFunc("GET /api/report", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, v.Report())
	})
	mux.HandleFunc("GET /api/plots", func(w http.ResponseWriter, r *http.Request) {
		hour, day := v.Plots()
		writeJSON(w, map[string]any{"hour": hour, "day": day})
	})
	static := func(name, ctype string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, err := assets.ReadFile(name)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Cache-Control", "max-age=3600")
			w.Write(b)
		}
	}
	mux.HandleFunc("GET /{$}", static("web/index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /app.js", static("web/app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /style.css", static("web/style.css", "text/css; charset=utf-8"))
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// ListenHTTP binds addr for ServeHTTP (before a privilege drop).
func ListenHTTP(addr string) (net.Listener, error) {
	return net.Listen("tcp", addr)
}

// ServeHTTP serves Handler on l until ctx is done.
func (v *Views) ServeHTTP(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: v.Handler(), ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second,
		IdleTimeout: 60 * time.Second, MaxHeaderBytes: 8 << 10}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
