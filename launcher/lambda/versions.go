package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/metadata"
)

type publishVersionInput struct {
	FunctionName string  `json:"-" uri:"FunctionName"`
	CodeSha256   *string `json:"CodeSha256"`
	Description  *string `json:"Description"`
	RevisionID   *string `json:"RevisionId"`
}

// PublishVersion: https://docs.aws.amazon.com/lambda/latest/api/API_PublishVersion.html
// An unchanged $LATEST gives the version it gave last time.
func (a *API) publishVersion(ctx context.Context, in *publishVersionInput) (*createdConfiguration, error) {
	ref, err := a.unqualified(ctx, "PublishVersion", in.FunctionName)
	if err != nil {
		return nil, err
	}
	l, err := a.load(ctx, ref.Name)
	if err != nil {
		return nil, err
	}
	s := l.doc.Latest
	if s.State != StateActive {
		return nil, notReady(s.State)
	}
	if s.LastUpdateStatus == UpdateInProgress {
		return nil, updateInProgress(a.functionARN(ref.Name, ""))
	}
	if in.RevisionID != nil && *in.RevisionID != "" && *in.RevisionID != s.RevisionID {
		return nil, preconditionFailed()
	}
	if in.CodeSha256 != nil && *in.CodeSha256 != "" && *in.CodeSha256 != strings.TrimPrefix(s.Digest, "sha256:") {
		return nil, invalidParameter("CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.",
			*in.CodeSha256, strings.TrimPrefix(s.Digest, "sha256:"))
	}
	description := s.Description
	if in.Description != nil {
		description = *in.Description
	}
	v, err := a.publish(ctx, ref.Name, description)
	if err != nil {
		return nil, err
	}
	return &createdConfiguration{v.configuration(a.functionARN(ref.Name, v.Version))}, nil
}

// publish publishes function name's $LATEST as its next version, unless
// it is unchanged since the last one, which it returns then. Published
// with its code, before its image's pull ended, the version has $LATEST's
// state (Pending, or an update InProgress) until activate settles both.
func (a *API) publish(ctx context.Context, name, description string) (spec, error) {
	l, err := a.load(ctx, name)
	if err != nil {
		return spec{}, err
	}
	if l.doc.Published == l.doc.Latest.RevisionID && l.doc.PublishedVersion != "" {
		v, err := a.version(ctx, name, l.doc.PublishedVersion)
		if err == nil || !errors.Is(err, metadata.ErrFunctionVersionUnknown) {
			return v, err
		}
	}
	published := l.doc.Latest
	published.Version = "" // the index numbers it; version() fills it in
	published.Description = description
	published.LastModified, published.RevisionID = time.Now(), launcher.NewUUID()
	if published.LastUpdateStatus != UpdateInProgress {
		published.LastUpdateStatus, published.LastUpdateStatusReason, published.LastUpdateStatusReasonCode = UpdateSuccessful, "", ""
	}
	b, err := json.Marshal(published)
	if err != nil {
		return spec{}, err
	}
	v, err := a.store.PublishFunctionVersion(ctx, metadata.FunctionVersion{Function: name, CreatedAt: published.LastModified, Document: b})
	if errors.Is(err, metadata.ErrFunctionUnknown) {
		return spec{}, functionNotFound(a.functionARN(name, ""))
	}
	if err != nil {
		return spec{}, err
	}
	published.Version = strconv.Itoa(v.Version)
	from := l.doc.Latest.RevisionID
	_, err = a.update(ctx, name, func(doc *functionDoc) error {
		if doc.Latest.RevisionID == from {
			doc.Published, doc.PublishedVersion = from, published.Version
		}
		return nil
	})
	return published, err
}

// version reads published version number (a decimal string) of function
// name; metadata.ErrFunctionVersionUnknown when there is none.
func (a *API) version(ctx context.Context, name, number string) (spec, error) {
	v, err := a.store.FunctionVersion(ctx, name, versionNumber(number))
	if err != nil {
		return spec{}, err
	}
	var s spec
	if err := json.Unmarshal(v.Document, &s); err != nil {
		return spec{}, err
	}
	s.Version = strconv.Itoa(v.Version)
	return s, nil
}

type listVersionsInput struct {
	FunctionName string  `json:"-" uri:"FunctionName"`
	Marker       *string `json:"-" query:"Marker"`
	MaxItems     *int    `json:"-" query:"MaxItems"`
}

type listVersionsOutput struct {
	Versions   []Configuration `json:"Versions"`
	NextMarker *string         `json:"NextMarker,omitempty"`
}

// ListVersionsByFunction: https://docs.aws.amazon.com/lambda/latest/api/API_ListVersionsByFunction.html
// $LATEST first, then the published versions; the marker is the last
// version's number.
func (a *API) listVersionsByFunction(ctx context.Context, in *listVersionsInput) (*listVersionsOutput, error) {
	ref, err := a.unqualified(ctx, "ListVersionsByFunction", in.FunctionName)
	if err != nil {
		return nil, err
	}
	n, err := maxItems(in.MaxItems, 50)
	if err != nil {
		return nil, err
	}
	l, err := a.load(ctx, ref.Name)
	if err != nil {
		return nil, err
	}
	out := &listVersionsOutput{Versions: []Configuration{}}
	after := 0
	if in.Marker != nil && *in.Marker != "" {
		if after = versionNumber(*in.Marker); after == 0 {
			return nil, invalidParameter("Invalid marker: %s", *in.Marker)
		}
	} else {
		out.Versions = append(out.Versions, l.doc.Latest.configuration(a.functionARN(ref.Name, latest)))
	}
	vs, err := a.store.FunctionVersions(ctx, ref.Name, after, n+1)
	if err != nil {
		return nil, err
	}
	if len(vs) > n {
		vs = vs[:n]
		next := strconv.Itoa(vs[n-1].Version)
		out.NextMarker = &next
	}
	for _, v := range vs {
		s, err := a.version(ctx, ref.Name, strconv.Itoa(v.Version))
		if err != nil {
			return nil, err
		}
		out.Versions = append(out.Versions, s.configuration(a.functionARN(ref.Name, s.Version)))
	}
	return out, nil
}

// versions lists every published version of function name, for
// ListFunctions with FunctionVersion ALL.
func (a *API) versions(ctx context.Context, name string) ([]Configuration, error) {
	var out []Configuration
	after := 0
	for {
		vs, err := a.store.FunctionVersions(ctx, name, after, 100)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			s, err := a.version(ctx, name, strconv.Itoa(v.Version))
			if err != nil {
				return nil, err
			}
			out = append(out, s.configuration(a.functionARN(name, s.Version)))
			after = v.Version
		}
		if len(vs) < 100 {
			return out, nil
		}
	}
}

// deleteVersion deletes the version ref names, unless an alias names it.
func (a *API) deleteVersion(ctx context.Context, ref functionRef) error {
	if _, err := a.load(ctx, ref.Name); err != nil {
		return err
	}
	aliases, err := a.store.FunctionAliases(ctx, ref.Name, "", 10000)
	if err != nil {
		return err
	}
	var using []string
	for _, al := range aliases {
		var doc aliasDoc
		if err := json.Unmarshal(al.Document, &doc); err != nil {
			return err
		}
		if _, weighted := doc.Weights[ref.Qualifier]; al.Version == ref.Qualifier || weighted {
			using = append(using, al.Name)
		}
	}
	if len(using) > 0 {
		return conflict("Unable to delete version because the following aliases reference it: [%s]", strings.Join(using, ", "))
	}
	err = a.store.DeleteFunctionVersion(ctx, ref.Name, versionNumber(ref.Qualifier))
	if errors.Is(err, metadata.ErrFunctionVersionUnknown) {
		return functionNotFound(a.functionARN(ref.Name, ref.Qualifier))
	}
	return err
}
