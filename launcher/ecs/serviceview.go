package ecs

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/berth-dev/berth/metadata"
)

// The methods below serve the web UI, which authorizes each person
// itself before it calls them: they authorize nothing.

// Services returns up to n services of cluster by name after the one
// named after, deleted (INACTIVE) ones left out, as ListServices lists
// them.
func (a *API) Services(ctx context.Context, cluster, after string, n int) ([]Service, error) {
	q := metadata.ServiceQuery{Cluster: cluster, AfterCluster: cluster, AfterName: after, Limit: 100}
	var out []Service
	for len(out) < n {
		page, err := a.store.Services(ctx, q)
		if err != nil {
			return nil, serverError("Services", err)
		}
		for _, s := range page {
			q.AfterName = s.Name
			if s.Status == serviceInactive || len(out) == n {
				continue
			}
			var rec serviceRecord
			if err := json.Unmarshal(s.Document, &rec); err != nil {
				return nil, serverError("Services", err)
			}
			rec.Service.Status = s.Status
			out = append(out, a.wireService(rec, false))
		}
		if len(page) < q.Limit {
			break
		}
	}
	return out, nil
}

// Service describes service name of cluster as DescribeServices does,
// tags included; metadata.ErrServiceUnknown wrapped when there is none.
func (a *API) Service(ctx context.Context, cluster, name string) (Service, error) {
	rec, err := a.serviceRecord(ctx, cluster, name)
	if err != nil {
		return Service{}, err
	}
	return a.wireService(rec, true), nil
}

// ScaleService sets a service's desired count as UpdateService's
// desiredCount does; caller's registry credentials then pull the images
// of the tasks the scheduler starts.
func (a *API) ScaleService(ctx context.Context, caller Caller, cluster, name string, desired int) (Service, error) {
	if err := checkDesiredCount(desired); err != nil {
		return Service{}, err
	}
	now := a.cfg.Now()
	rec, err := a.changeService(ctx, cluster, name, func(rec *serviceRecord) error {
		if rec.Service.Status != serviceActive {
			return serviceNotActive()
		}
		rec.Service.DesiredCount, rec.Caller = desired, caller
		rec.primaryFollows(now)
		return nil
	})
	if errors.Is(err, metadata.ErrServiceUnknown) {
		return Service{}, serviceNotFound()
	}
	if err != nil {
		return Service{}, serverError("UpdateService", err)
	}
	a.sched.kick(cluster, name)
	return a.wireService(rec, true), nil
}

// DeleteService deletes a service as DeleteService does: one scaled to
// 0, or any with force, turns DRAINING while its tasks stop.
func (a *API) DeleteService(ctx context.Context, cluster, name string, force bool) (Service, error) {
	rec, err := a.drainService(ctx, cluster, name, force)
	if errors.Is(err, metadata.ErrServiceUnknown) {
		return Service{}, serviceNotFound()
	}
	if err != nil {
		return Service{}, err
	}
	return a.wireService(rec, true), nil
}
