package ecr

import (
	"context"

	"github.com/berth-dev/berth/replication"
)

type describeImageReplicationStatusInput struct {
	repositoryRef
	ImageID *imageID `json:"imageId,omitempty"`
}

type replicationStatus struct {
	Region      string `json:"region"`
	RegistryID  string `json:"registryId"`
	Status      string `json:"status"`
	FailureCode string `json:"failureCode,omitempty"`
}

type describeImageReplicationStatusOutput struct {
	RepositoryName      string              `json:"repositoryName"`
	ImageID             imageID             `json:"imageId"`
	ReplicationStatuses []replicationStatus `json:"replicationStatuses"`
}

// describeImageReplicationStatus reports an image's replication to each
// destination (package replication's queue): IN_PROGRESS while it is
// queued or retried, COMPLETE, or FAILED with the last attempt's error as
// failureCode.
func (a *API) describeImageReplicationStatus(ctx context.Context, in *describeImageReplicationStatusInput) (*describeImageReplicationStatusOutput, error) {
	name, err := a.authorized(ctx, "ecr:DescribeImageReplicationStatus", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	m, err := a.image(ctx, name, in.ImageID)
	if err != nil {
		return nil, err
	}
	rs, err := a.store.ReplicationStatuses(ctx, name, m.Digest)
	if err != nil {
		return nil, a.storeError(err, name)
	}
	out := &describeImageReplicationStatusOutput{RepositoryName: name, ImageID: imageID{ImageDigest: ptr(m.Digest.String()), ImageTag: in.ImageID.ImageTag}, ReplicationStatuses: []replicationStatus{}}
	for _, r := range rs {
		d := replication.ParseName(r.Destination)
		s := replicationStatus{Region: d.Region, RegistryID: d.RegistryID, Status: r.Status}
		if r.Status == "FAILED" {
			s.FailureCode = r.Failure
		}
		out.ReplicationStatuses = append(out.ReplicationStatuses, s)
	}
	return out, nil
}
