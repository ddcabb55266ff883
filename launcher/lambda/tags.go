package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/metadata"
)

type tagsInput struct {
	ARN  string            `json:"-" uri:"ARN"`
	Tags map[string]string `json:"Tags"`
}

type tagsOutput struct {
	Tags map[string]string `json:"Tags"`
}

// tagged reads the function a tagging call names: an unqualified function
// ARN of this berth's.
func (a *API) tagged(ctx context.Context, action, resource string) (string, error) {
	parsed, err := arn.Parse(resource)
	name, qualifier, ok := parsed.Function()
	if err != nil || !ok || qualifier != "" {
		return "", invalidParameter("%s is not a valid function ARN: tags belong to unqualified function ARNs.", resource)
	}
	ref, err := a.unqualified(ctx, action, name)
	if err != nil {
		return "", err
	}
	if parsed.Region != a.cfg.Region || (a.cfg.AccountID != "" && parsed.AccountID != a.cfg.AccountID) {
		return "", functionNotFound(resource)
	}
	return ref.Name, nil
}

// ResourceTags returns the tags of the function resource names (any
// qualifier: a version's or an alias's tags are its function's), which
// policies test as aws:ResourceTag/<key> and lambda:ResourceTag/<key>;
// none when it does not exist.
func (a *API) ResourceTags(ctx context.Context, resource arn.ARN) (map[string]string, error) {
	name, _, ok := resource.Function()
	if !ok {
		return nil, nil
	}
	f, err := a.store.Function(ctx, name)
	if errors.Is(err, metadata.ErrFunctionUnknown) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var doc functionDoc
	if err := json.Unmarshal(f.Document, &doc); err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	return doc.Tags, nil
}

// TagResource: https://docs.aws.amazon.com/lambda/latest/api/API_TagResource.html
func (a *API) tagResource(ctx context.Context, in *tagsInput) (*noContent, error) {
	name, err := a.tagged(ctx, "TagResource", in.ARN)
	if err != nil {
		return nil, err
	}
	_, err = a.update(ctx, name, func(doc *functionDoc) error {
		tags := mergeTags(doc.Tags, in.Tags)
		if err := checkTags(tags); err != nil {
			return err
		}
		doc.Tags = tags
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &noContent{}, nil
}

// UntagResource: https://docs.aws.amazon.com/lambda/latest/api/API_UntagResource.html
// Its keys are a repeated query member, tagKeys.
func (a *API) untagResource(w http.ResponseWriter, r *http.Request) error {
	name, err := a.tagged(r.Context(), "UntagResource", r.PathValue("ARN"))
	if err != nil {
		return err
	}
	keys := r.URL.Query()["tagKeys"]
	_, err = a.update(r.Context(), name, func(doc *functionDoc) error {
		for _, k := range keys {
			delete(doc.Tags, k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ListTags: https://docs.aws.amazon.com/lambda/latest/api/API_ListTags.html
func (a *API) listTags(ctx context.Context, in *tagsInput) (*tagsOutput, error) {
	name, err := a.tagged(ctx, "ListTags", in.ARN)
	if err != nil {
		return nil, err
	}
	l, err := a.load(ctx, name)
	if err != nil {
		return nil, err
	}
	tags := l.doc.Tags
	if tags == nil {
		tags = map[string]string{}
	}
	return &tagsOutput{Tags: tags}, nil
}
