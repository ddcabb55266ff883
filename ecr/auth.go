package ecr

import (
	"context"

	"github.com/berth-dev/berth/internal/awsjson"
)

type getAuthorizationTokenInput struct {
	// RegistryIDs is deprecated and ignored, as by ECR: the token is not
	// scoped by registry.
	RegistryIDs []string `json:"registryIds,omitempty"`
}

type authorizationData struct {
	AuthorizationToken string       `json:"authorizationToken"`
	ExpiresAt          awsjson.Time `json:"expiresAt"`
	ProxyEndpoint      string       `json:"proxyEndpoint"`
}

type getAuthorizationTokenOutput struct {
	AuthorizationData []authorizationData `json:"authorizationData"`
}

// getAuthorizationToken returns base64("AWS:" + token), valid for 12
// hours: what `aws ecr get-login-password` prints the token part of.
func (a *API) getAuthorizationToken(ctx context.Context, in *getAuthorizationTokenInput) (*getAuthorizationTokenOutput, error) {
	if len(in.RegistryIDs) > 10 {
		return nil, validation("registryIds", "list", "Member must have length less than or equal to 10")
	}
	for _, id := range in.RegistryIDs {
		if !registryIDRegexp.MatchString(id) {
			return nil, validation("registryIds", id, "Member must satisfy regular expression pattern: [0-9]{12}")
		}
	}
	if err := a.access.AuthorizeAction(ctx, "ecr:GetAuthorizationToken", ""); err != nil {
		return nil, err
	}
	tok, expires, err := a.access.AuthorizationToken(ctx)
	if err != nil {
		return nil, wrap("GetAuthorizationToken", err)
	}
	return &getAuthorizationTokenOutput{AuthorizationData: []authorizationData{{
		AuthorizationToken: tok,
		ExpiresAt:          awsjson.NewTime(expires),
		ProxyEndpoint:      awsjson.BaseURL(ctx),
	}}}, nil
}
