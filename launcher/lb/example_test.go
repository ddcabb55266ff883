package lb_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/berth-dev/berth/launcher/lb"
)

// A listener in front of one task whose health the caller reports (from
// its container's Docker health status), then the task's replacement.
func Example() {
	ctx := context.Background()
	l, err := lb.Listen(ctx, 0, lb.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer l.Shutdown(ctx)

	task := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from the task")
	}))
	defer task.Close()
	addr := netip.MustParseAddrPort(task.Listener.Addr().String())

	l.Register(addr, lb.Reported)
	fmt.Println(l.Target(addr).State)
	l.SetHealthy(addr, true)
	fmt.Println(l.Target(addr).State)

	resp, err := http.Get("http://" + l.Addr().String() + "/")
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	drained, _ := l.Deregister(addr)
	<-drained // the task may be stopped now
	fmt.Println(l.Target(addr).State)

	resp, err = http.Get("http://" + l.Addr().String() + "/")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// initial
	// healthy
	// 200 hello from the task
	// unused
	// 503
}
