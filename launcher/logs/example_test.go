package logs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berth-dev/berth/launcher/logs"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/sqlite"
)

// A container's output, as `docker logs --timestamps` streams it, goes
// into the stream an ECS task's awslogs options name.
func ExampleStore_Capture() {
	dir, _ := os.MkdirTemp("", "logs-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	index, err := sqlite.Open(ctx, filepath.Join(dir, "berth.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer index.Close()
	store := logs.NewStore(index, logs.StoreConfig{})

	stdout := strings.NewReader("2025-03-12T12:00:00.250Z listening on :8080\n2025-03-12T12:00:01Z GET / 200\n")
	dest := logs.Destination{Group: "/ecs/web", Stream: "ecs/app/8f2e", CreateGroup: true}
	if err := store.Capture(ctx, dest, stdout, logs.DockerTimestamps); err != nil {
		fmt.Println(err)
		return
	}

	events, _ := index.ReadLogEvents(ctx, metadata.LogRead{Group: dest.Group, Stream: dest.Stream, From: metadata.LogHead, Limit: 10})
	for _, e := range events {
		fmt.Println(e.Time, e.Message)
	}
	// Output:
	// 1741780800250 listening on :8080
	// 1741780801000 GET / 200
}
