package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/metadata"
)

// AliasConfiguration is Lambda's description of an alias.
type AliasConfiguration struct {
	AliasArn        string         `json:"AliasArn"`
	Name            string         `json:"Name"`
	FunctionVersion string         `json:"FunctionVersion"`
	Description     string         `json:"Description"`
	RoutingConfig   *routingConfig `json:"RoutingConfig,omitempty"`
	RevisionID      string         `json:"RevisionId"`
}

type routingConfig struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights,omitempty"`
}

type aliasInput struct {
	FunctionName    string         `json:"-" uri:"FunctionName"`
	AliasName       string         `json:"-" uri:"Name"`
	Name            *string        `json:"Name"`
	FunctionVersion *string        `json:"FunctionVersion"`
	Description     *string        `json:"Description"`
	RoutingConfig   *routingConfig `json:"RoutingConfig"`
	RevisionID      *string        `json:"RevisionId"`
}

type createdAlias struct{ AliasConfiguration }

func (createdAlias) StatusCode() int { return http.StatusCreated }

// route picks the version an invocation of an alias runs: one of the
// additional versions with its weight, else the alias's own.
func route(version string, weights map[string]float64) string {
	x := rand.Float64()
	for _, v := range slices.Sorted(maps.Keys(weights)) {
		if x < weights[v] {
			return v
		}
		x -= weights[v]
	}
	return version
}

// aliasConfiguration renders an alias.
func (a *API) aliasConfiguration(al metadata.FunctionAlias) (*AliasConfiguration, error) {
	var doc aliasDoc
	if err := json.Unmarshal(al.Document, &doc); err != nil {
		return nil, err
	}
	c := &AliasConfiguration{AliasArn: a.functionARN(al.Function, al.Name), Name: al.Name,
		FunctionVersion: al.Version, Description: doc.Description, RevisionID: doc.RevisionID}
	if len(doc.Weights) > 0 {
		c.RoutingConfig = &routingConfig{AdditionalVersionWeights: doc.Weights}
	}
	return c, nil
}

// checkAliasTarget checks that version (and each weighted one) is a
// published version of function name (or $LATEST, without weights), and
// that the weights are Lambda's: one additional version, weight 0 to 1.
func (a *API) checkAliasTarget(ctx context.Context, name, version string, routing *routingConfig) error {
	if version != latest && !isVersion(version) {
		return validation("functionVersion", version, `Member must satisfy regular expression pattern: (\$LATEST|[0-9]+)`)
	}
	targets := []string{version}
	if routing != nil {
		if len(routing.AdditionalVersionWeights) > 1 {
			return invalidParameter("Number of items in AdditionalVersionWeights cannot be greater than 1")
		}
		for v, w := range routing.AdditionalVersionWeights {
			if w < 0 || w > 1 {
				return validation("routingConfig.additionalVersionWeights", fmt.Sprint(w), "Member must have value between 0.0 and 1.0")
			}
			if v == version || version == latest || !isVersion(v) {
				return invalidParameter("Invalid function version %s in AdditionalVersionWeights; it must be a published version other than the alias's.", v)
			}
			targets = append(targets, v)
		}
	}
	for _, v := range targets {
		if v == latest {
			continue
		}
		if _, err := a.version(ctx, name, v); errors.Is(err, metadata.ErrFunctionVersionUnknown) {
			return functionNotFound(a.functionARN(name, v))
		} else if err != nil {
			return err
		}
	}
	return nil
}

// CreateAlias: https://docs.aws.amazon.com/lambda/latest/api/API_CreateAlias.html
func (a *API) createAlias(ctx context.Context, in *aliasInput) (*createdAlias, error) {
	ref, err := a.unqualified(ctx, "CreateAlias", in.FunctionName)
	if err != nil {
		return nil, err
	}
	if in.Name == nil {
		return nil, validation("name", "null", "Member must not be null")
	}
	if !validAlias(*in.Name) {
		return nil, validation("name", *in.Name, `Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)`)
	}
	if in.FunctionVersion == nil {
		return nil, validation("functionVersion", "null", "Member must not be null")
	}
	if _, err := a.load(ctx, ref.Name); err != nil {
		return nil, err
	}
	if err := a.checkAliasTarget(ctx, ref.Name, *in.FunctionVersion, in.RoutingConfig); err != nil {
		return nil, err
	}
	doc := aliasDoc{RevisionID: launcher.NewUUID()}
	if in.Description != nil {
		doc.Description = *in.Description
	}
	if in.RoutingConfig != nil {
		doc.Weights = in.RoutingConfig.AdditionalVersionWeights
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	al := metadata.FunctionAlias{Function: ref.Name, Name: *in.Name, Version: *in.FunctionVersion, Document: b}
	switch err := a.store.CreateFunctionAlias(ctx, al); {
	case errors.Is(err, metadata.ErrFunctionAliasExists):
		return nil, conflict("Alias already exists: %s", a.functionARN(ref.Name, *in.Name))
	case errors.Is(err, metadata.ErrFunctionUnknown):
		return nil, functionNotFound(a.functionARN(ref.Name, ""))
	case err != nil:
		return nil, err
	}
	c, err := a.aliasConfiguration(al)
	if err != nil {
		return nil, err
	}
	return &createdAlias{*c}, nil
}

// alias reads alias name of function fn.
func (a *API) alias(ctx context.Context, fn, name string) (metadata.FunctionAlias, error) {
	if _, err := a.load(ctx, fn); err != nil {
		return metadata.FunctionAlias{}, err
	}
	al, err := a.store.FunctionAlias(ctx, fn, name)
	if errors.Is(err, metadata.ErrFunctionAliasUnknown) {
		return al, aliasNotFound(a.functionARN(fn, name))
	}
	return al, err
}

// GetAlias: https://docs.aws.amazon.com/lambda/latest/api/API_GetAlias.html
func (a *API) getAlias(ctx context.Context, in *aliasInput) (*AliasConfiguration, error) {
	ref, err := a.unqualified(ctx, "GetAlias", in.FunctionName)
	if err != nil {
		return nil, err
	}
	al, err := a.alias(ctx, ref.Name, in.AliasName)
	if err != nil {
		return nil, err
	}
	return a.aliasConfiguration(al)
}

// UpdateAlias: https://docs.aws.amazon.com/lambda/latest/api/API_UpdateAlias.html
func (a *API) updateAlias(ctx context.Context, in *aliasInput) (*AliasConfiguration, error) {
	ref, err := a.unqualified(ctx, "UpdateAlias", in.FunctionName)
	if err != nil {
		return nil, err
	}
	al, err := a.alias(ctx, ref.Name, in.AliasName)
	if err != nil {
		return nil, err
	}
	var doc aliasDoc
	if err := json.Unmarshal(al.Document, &doc); err != nil {
		return nil, err
	}
	if in.RevisionID != nil && *in.RevisionID != "" && *in.RevisionID != doc.RevisionID {
		return nil, preconditionFailed()
	}
	if in.FunctionVersion != nil {
		al.Version = *in.FunctionVersion
	}
	routing := in.RoutingConfig
	if routing == nil && len(doc.Weights) > 0 {
		routing = &routingConfig{AdditionalVersionWeights: doc.Weights}
	}
	if err := a.checkAliasTarget(ctx, ref.Name, al.Version, routing); err != nil {
		return nil, err
	}
	if in.Description != nil {
		doc.Description = *in.Description
	}
	if in.RoutingConfig != nil {
		doc.Weights = in.RoutingConfig.AdditionalVersionWeights
	}
	doc.RevisionID = launcher.NewUUID()
	if al.Document, err = json.Marshal(doc); err != nil {
		return nil, err
	}
	if err := a.store.PutFunctionAlias(ctx, al); errors.Is(err, metadata.ErrFunctionAliasUnknown) {
		return nil, aliasNotFound(a.functionARN(ref.Name, in.AliasName))
	} else if err != nil {
		return nil, err
	}
	return a.aliasConfiguration(al)
}

// DeleteAlias: https://docs.aws.amazon.com/lambda/latest/api/API_DeleteAlias.html
func (a *API) deleteAlias(ctx context.Context, in *aliasInput) (*noContent, error) {
	ref, err := a.unqualified(ctx, "DeleteAlias", in.FunctionName)
	if err != nil {
		return nil, err
	}
	if _, err := a.load(ctx, ref.Name); err != nil {
		return nil, err
	}
	// Deleting an alias that does not exist succeeds, as in Lambda.
	if err := a.store.DeleteFunctionAlias(ctx, ref.Name, in.AliasName); err != nil && !errors.Is(err, metadata.ErrFunctionAliasUnknown) {
		return nil, err
	}
	// Its function URL goes with it.
	if _, err := a.update(ctx, ref.Name, func(doc *functionDoc) error {
		delete(doc.URLs, in.AliasName)
		return nil
	}); err != nil {
		return nil, err
	}
	a.urls.close(ref.Name, in.AliasName)
	return &noContent{}, nil
}

type listAliasesInput struct {
	FunctionName    string  `json:"-" uri:"FunctionName"`
	FunctionVersion *string `json:"-" query:"FunctionVersion"`
	Marker          *string `json:"-" query:"Marker"`
	MaxItems        *int    `json:"-" query:"MaxItems"`
}

type listAliasesOutput struct {
	Aliases    []AliasConfiguration `json:"Aliases"`
	NextMarker *string              `json:"NextMarker,omitempty"`
}

// ListAliases: https://docs.aws.amazon.com/lambda/latest/api/API_ListAliases.html
func (a *API) listAliases(ctx context.Context, in *listAliasesInput) (*listAliasesOutput, error) {
	ref, err := a.unqualified(ctx, "ListAliases", in.FunctionName)
	if err != nil {
		return nil, err
	}
	n, err := maxItems(in.MaxItems, 50)
	if err != nil {
		return nil, err
	}
	if _, err := a.load(ctx, ref.Name); err != nil {
		return nil, err
	}
	after := ""
	if in.Marker != nil {
		after = *in.Marker
	}
	out := &listAliasesOutput{Aliases: []AliasConfiguration{}}
	for {
		page, err := a.store.FunctionAliases(ctx, ref.Name, after, n)
		if err != nil {
			return nil, err
		}
		for _, al := range page {
			after = al.Name
			if in.FunctionVersion != nil && al.Version != *in.FunctionVersion {
				continue
			}
			c, err := a.aliasConfiguration(al)
			if err != nil {
				return nil, err
			}
			out.Aliases = append(out.Aliases, *c)
			if len(out.Aliases) == n {
				if more, err := a.store.FunctionAliases(ctx, ref.Name, after, 1); err != nil {
					return nil, err
				} else if len(more) > 0 {
					next := after
					out.NextMarker = &next
				}
				return out, nil
			}
		}
		if len(page) < n {
			return out, nil
		}
	}
}
