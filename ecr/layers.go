package ecr

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/internal/ocierr"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/registry"
)

// partSize is the part size InitiateLayerUpload advises, as ECR does.
const partSize = 10 << 20

// maxPartSize bounds one UploadLayerPart's layerPartBlob (ECR: 20 MiB).
const maxPartSize = 20 << 20

type batchCheckLayerAvailabilityInput struct {
	repositoryRef
	LayerDigests []string `json:"layerDigests,omitempty"`
}

type layer struct {
	LayerDigest       string `json:"layerDigest"`
	LayerAvailability string `json:"layerAvailability"`
	LayerSize         *int64 `json:"layerSize,omitempty"`
}

type layerFailure struct {
	LayerDigest   string `json:"layerDigest"`
	FailureCode   string `json:"failureCode"`
	FailureReason string `json:"failureReason"`
}

type batchCheckLayerAvailabilityOutput struct {
	Layers   []layer        `json:"layers"`
	Failures []layerFailure `json:"failures"`
}

func (a *API) batchCheckLayerAvailability(ctx context.Context, in *batchCheckLayerAvailabilityInput) (*batchCheckLayerAvailabilityOutput, error) {
	name, err := a.authorized(ctx, "ecr:BatchCheckLayerAvailability", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	if len(in.LayerDigests) < 1 || len(in.LayerDigests) > 100 {
		return nil, validation("layerDigests", "list", "Member must have length between 1 and 100")
	}
	if _, err := a.store.Repository(ctx, name); err != nil {
		return nil, a.storeError(err, name)
	}
	out := &batchCheckLayerAvailabilityOutput{Layers: []layer{}, Failures: []layerFailure{}}
	for _, s := range in.LayerDigests {
		d, err := digest.Parse(s)
		if err != nil {
			out.Failures = append(out.Failures, layerFailure{s, "InvalidLayerDigest", "Invalid layer digest"})
			continue
		}
		b, err := a.store.Blob(ctx, name, d)
		switch {
		case errors.Is(err, metadata.ErrBlobUnknown):
			out.Layers = append(out.Layers, layer{LayerDigest: s, LayerAvailability: "UNAVAILABLE"})
		case err != nil:
			return nil, a.storeError(err, name)
		default:
			out.Layers = append(out.Layers, layer{LayerDigest: s, LayerAvailability: "AVAILABLE", LayerSize: ptr(b.Size)})
		}
	}
	return out, nil
}

type initiateLayerUploadOutput struct {
	UploadID string `json:"uploadId"`
	PartSize int64  `json:"partSize"`
}

func (a *API) initiateLayerUpload(ctx context.Context, in *repositoryRef) (*initiateLayerUploadOutput, error) {
	name, err := a.authorized(ctx, "ecr:InitiateLayerUpload", *in)
	if err != nil {
		return nil, err
	}
	if _, err := a.store.Repository(ctx, name); err != nil {
		return nil, a.storeError(err, name)
	}
	u, err := a.registry.InitiateUpload(ctx, name)
	if err != nil {
		return nil, a.storeError(err, name)
	}
	return &initiateLayerUploadOutput{UploadID: u.ID, PartSize: partSize}, nil
}

type uploadLayerPartInput struct {
	repositoryRef
	UploadID      *string `json:"uploadId,omitempty"`
	PartFirstByte *int64  `json:"partFirstByte,omitempty"`
	PartLastByte  *int64  `json:"partLastByte,omitempty"`
	LayerPartBlob []byte  `json:"layerPartBlob,omitempty"` // base64 on the wire
}

type uploadLayerPartOutput struct {
	RegistryID       string `json:"registryId"`
	RepositoryName   string `json:"repositoryName"`
	UploadID         string `json:"uploadId"`
	LastByteReceived int64  `json:"lastByteReceived"`
}

func (a *API) uploadLayerPart(ctx context.Context, in *uploadLayerPartInput) (*uploadLayerPartOutput, error) {
	name, err := a.authorized(ctx, "ecr:UploadLayerPart", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	switch {
	case in.UploadID == nil:
		return nil, validation("uploadId", "null", "Member must not be null")
	case in.PartFirstByte == nil || in.PartLastByte == nil:
		return nil, validation("partFirstByte, partLastByte", "null", "Member must not be null")
	case len(in.LayerPartBlob) == 0 || len(in.LayerPartBlob) > maxPartSize:
		return nil, validation("layerPartBlob", "…", fmt.Sprintf("Member must have length between 1 and %d", maxPartSize))
	case *in.PartFirstByte < 0 || *in.PartLastByte-*in.PartFirstByte+1 != int64(len(in.LayerPartBlob)):
		return nil, invalidLayerPart("The layer part is %d bytes; partFirstByte %d and partLastByte %d say otherwise.", len(in.LayerPartBlob), *in.PartFirstByte, *in.PartLastByte)
	}
	u, err := a.registry.UploadPart(ctx, name, *in.UploadID, *in.PartFirstByte, bytes.NewReader(in.LayerPartBlob), int64(len(in.LayerPartBlob)))
	switch {
	case errors.Is(err, registry.ErrPartOffset):
		return nil, invalidLayerPart("The first byte of the part, %d, does not follow the last byte received, %d.", *in.PartFirstByte, u.Size-1)
	case err != nil:
		return nil, a.uploadError(err, name, *in.UploadID)
	}
	return &uploadLayerPartOutput{a.cfg.AccountID, name, u.ID, u.Size - 1}, nil
}

type completeLayerUploadInput struct {
	repositoryRef
	UploadID     *string  `json:"uploadId,omitempty"`
	LayerDigests []string `json:"layerDigests,omitempty"`
}

type completeLayerUploadOutput struct {
	RegistryID     string `json:"registryId"`
	RepositoryName string `json:"repositoryName"`
	UploadID       string `json:"uploadId"`
	LayerDigest    string `json:"layerDigest"`
}

func (a *API) completeLayerUpload(ctx context.Context, in *completeLayerUploadInput) (*completeLayerUploadOutput, error) {
	name, err := a.authorized(ctx, "ecr:CompleteLayerUpload", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	if in.UploadID == nil {
		return nil, validation("uploadId", "null", "Member must not be null")
	}
	if len(in.LayerDigests) != 1 {
		return nil, invalidParameter("layerDigests", "Exactly one layer digest is supported")
	}
	d, err := digest.Parse(in.LayerDigests[0])
	if err != nil {
		return nil, invalidLayer("Invalid layer digest %q", in.LayerDigests[0])
	}
	if _, err := a.store.Blob(ctx, name, d); err == nil {
		return nil, layerAlreadyExists(d, name, a.cfg.AccountID)
	}
	err = a.registry.CompleteUpload(ctx, name, *in.UploadID, d)
	var regErr *ocierr.Error
	switch {
	case errors.Is(err, registry.ErrEmptyUpload):
		return nil, emptyUpload(*in.UploadID)
	case errors.As(err, &regErr) && regErr.Code == ocierr.DigestInvalid:
		return nil, invalidLayer("The layer digest calculated from the uploaded parts does not match the digest specified: %s", regErr.Message)
	case err != nil:
		return nil, a.uploadError(err, name, *in.UploadID)
	}
	return &completeLayerUploadOutput{a.cfg.AccountID, name, *in.UploadID, d.String()}, nil
}

// uploadError maps an upload session error to ECR's.
func (a *API) uploadError(err error, repo, id string) error {
	if errors.Is(err, metadata.ErrUploadUnknown) {
		return uploadNotFound(id, repo, a.cfg.AccountID)
	}
	return a.storeError(err, repo)
}

type getDownloadURLForLayerInput struct {
	repositoryRef
	LayerDigest *string `json:"layerDigest,omitempty"`
}

type getDownloadURLForLayerOutput struct {
	DownloadURL string `json:"downloadUrl"`
	LayerDigest string `json:"layerDigest"`
}

func (a *API) getDownloadURLForLayer(ctx context.Context, in *getDownloadURLForLayerInput) (*getDownloadURLForLayerOutput, error) {
	name, err := a.authorized(ctx, "ecr:GetDownloadUrlForLayer", in.repositoryRef)
	if err != nil {
		return nil, err
	}
	if in.LayerDigest == nil {
		return nil, validation("layerDigest", "null", "Member must not be null")
	}
	d, err := digest.Parse(*in.LayerDigest)
	if err != nil {
		return nil, invalidParameter("layerDigest", "Invalid layer digest")
	}
	if _, err := a.store.Repository(ctx, name); err != nil {
		return nil, a.storeError(err, name)
	}
	url, err := a.registry.DownloadURL(ctx, name, d, awsjson.BaseURL(ctx))
	if errors.Is(err, metadata.ErrBlobUnknown) {
		return nil, layerNotFound(d, name, a.cfg.AccountID)
	}
	if err != nil {
		return nil, a.storeError(err, name)
	}
	return &getDownloadURLForLayerOutput{url, d.String()}, nil
}
