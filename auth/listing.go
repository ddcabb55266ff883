package auth

import (
	"context"
	"errors"
	"sync"

	"github.com/berth-dev/berth/internal/arn"
)

// ResourcePolicyLister is an optional ability of a service's
// ResourcePolicies: the policy of every resource of like's type (and
// account and region) that has one, in one read, keyed by the resource's
// id (arn.ARN.ID). A request that evaluates many resources (the catalog,
// DescribeRepositories) then costs one read instead of one per resource.
// errors.ErrUnsupported means it cannot for that type.
type ResourcePolicyLister interface {
	AllResourcePolicies(ctx context.Context, like arn.ARN) (map[string]string, error)
}

// listingThreshold is how many resource policies one request reads one by
// one before it reads them all at once: a listing, not a single request.
const listingThreshold = 8

// policyMemo is one request's resource policy reads. It is the zero value
// in a new Principal; each request authenticates its own Principal, so the
// memo never outlives a request.
type policyMemo struct {
	mu    sync.Mutex
	reads map[string]int               // one-by-one reads per kind
	all   map[string]map[string]string // every policy by kind, then resource id
}

// lookup returns resource's policy text from policies: one by one for the
// first listingThreshold reads of a service, then from one read of them all
// when the service can list them.
func (m *policyMemo) lookup(ctx context.Context, policies ResourcePolicies, resource arn.ARN) (string, error) {
	lister, ok := policies.(ResourcePolicyLister)
	if !ok {
		return policies.ResourcePolicy(ctx, resource)
	}
	// kind: resources of one type in one account and region.
	kind := arn.ARN{Partition: resource.Partition, Service: resource.Service, Region: resource.Region,
		AccountID: resource.AccountID, Resource: resource.Type() + "/"}.String()
	m.mu.Lock()
	defer m.mu.Unlock()
	if all, ok := m.all[kind]; ok {
		return all[resource.ID()], nil
	}
	if m.reads[kind] < listingThreshold {
		if m.reads == nil {
			m.reads = map[string]int{}
		}
		m.reads[kind]++
		return policies.ResourcePolicy(ctx, resource)
	}
	all, err := lister.AllResourcePolicies(ctx, resource)
	if errors.Is(err, errors.ErrUnsupported) {
		m.reads[kind] = -1 << 30 // do not ask again in this request
		return policies.ResourcePolicy(ctx, resource)
	}
	if err != nil {
		return "", err
	}
	if m.all == nil {
		m.all = map[string]map[string]string{}
	}
	m.all[kind] = all
	return all[resource.ID()], nil
}
