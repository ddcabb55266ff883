package postgres_test

import (
	"context"
	"testing"

	"github.com/berth-dev/berth/internal/pgtest"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/metadatatest"
	"github.com/berth-dev/berth/metadata/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestConformance(t *testing.T) {
	metadatatest.Run(t, func(t *testing.T) metadatatest.Opener {
		dsn := pgtest.Shared(t).NewDatabase(t)
		return func(ctx context.Context) (metadata.Store, error) {
			return postgres.Open(ctx, dsn)
		}
	})
}
