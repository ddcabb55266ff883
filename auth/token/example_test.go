package token_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/berth-dev/berth/auth/token"
)

// GetAuthorizationToken issues a token and wraps it for ECR; docker sends
// it back as a Basic password, which the registry verifies.
func Example() {
	dir, err := os.MkdirTemp("", "berth-keys")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	keys, err := token.LoadOrCreate(dir)
	if err != nil {
		log.Fatal(err)
	}
	issuer, err := token.New(keys, "registry.example.com")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	// GetAuthorizationToken: authorizationData[0].authorizationToken.
	password, claims, err := issuer.Issue(ctx, "alice", "AKIAIOSFODNN7EXAMPLE", 0, nil)
	if err != nil {
		log.Fatal(err)
	}
	authorizationToken := token.ECRAuthorizationToken(password)
	fmt.Println("valid for", claims.ExpiresAt.Sub(claims.IssuedAt))

	// A /v2/ request from docker after `docker login --username AWS`.
	user, pass, ok := token.ParseBasic("Basic " + authorizationToken)
	if !ok || user != "AWS" {
		log.Fatal("not an ECR login")
	}
	got, err := issuer.Verify(ctx, pass)
	switch {
	case errors.Is(err, token.ErrExpired):
		fmt.Println("denied: Your authorization token has expired. Reauthenticate and try again.")
	case err != nil:
		fmt.Println("401 Not Authorized")
	default:
		fmt.Println("authenticated", got.Subject, "with", got.AccessKeyID)
	}
	// Output:
	// valid for 12h0m0s
	// authenticated alice with AKIAIOSFODNN7EXAMPLE
}
