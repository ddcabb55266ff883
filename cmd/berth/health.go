package main

import (
	"context"
	"log/slog"
	"net/http"
)

// pinger is what /readyz asks: whether the metadata index answers.
type pinger interface {
	Ping(ctx context.Context) error
}

// health serves the probes of operators and orchestrators.
type health struct {
	index pinger
	log   *slog.Logger
}

// Register serves GET /healthz (the process is up) and GET /readyz (it
// can reach its index) on mux.
func (h health) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /readyz", readyz(h.index, h.log))
}

// readyz answers /readyz: 200 while the metadata index answers, 503 when
// it does not. Why it does not goes to the log only: a database driver's
// error can name its host, user or password, and /readyz is open to
// anyone who reaches the port.
func readyz(index pinger, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := index.Ping(r.Context()); err != nil {
			log.ErrorContext(r.Context(), "readyz: the metadata index does not answer", "err", err)
			http.Error(w, "metadata index unreachable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
}
