// Package client talks to a berth server from afar, as berth's remote
// commands do: which server (the endpoint), as whom (AWS credentials,
// BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY first), and through the
// AWS SDK's service clients, which sign every request with SigV4. It also
// turns the SDK's errors into the one line a person reads, shows the HTTP
// exchange for --debug with its secrets redacted, logs docker in to the
// registry, and has the Docker Engine push a local image to it.
//
// A command makes one [Client] and asks it for the service client it
// needs: ECR's here; ECS, Lambda, Batch and CloudWatch Logs clients are
// made from [Client.AWSConfig], since berth serves them all on one
// endpoint.
package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// Options say which server to talk to and how.
type Options struct {
	// Endpoint is the server: a URL (http://localhost:5000) or a registry
	// address (localhost:5000; http for loopback hosts, else https).
	// Empty: BERTH_ENDPOINT, else DefaultEndpoint.
	Endpoint string
	// Debug, when not nil, receives every HTTP request and response, with
	// credentials, tokens and passwords redacted.
	Debug io.Writer
}

// Client is one server and one identity. Its service clients share them.
type Client struct {
	endpoint string
	cfg      aws.Config
	// keyID and source say which credentials sign, for error messages;
	// noCredentials, when not nil, is why none were found and requests go
	// unsigned (a server started with --no-auth needs none).
	keyID, source string
	noCredentials error
}

// New resolves the endpoint and the credentials. Credentials come from
// BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY when set, else from the
// AWS SDK's default chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
// AWS_PROFILE, ~/.aws/credentials, ...); the region from AWS_REGION or the
// profile, else us-east-1. With no credentials anywhere, requests go
// unsigned and [Client.Anonymous] says why.
func New(ctx context.Context, opts Options) (*Client, error) {
	endpoint, err := RegistryEndpoint(ResolveEndpoint(opts.Endpoint))
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithDefaultRegion("us-east-1"),
		// An instance role's credentials are AWS's, never berth's: do not
		// spend seconds asking the instance metadata service for them.
		awsconfig.WithEC2IMDSClientEnableState(imds.ClientDisabled),
	)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	cfg.BaseEndpoint = aws.String(endpoint)
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	if opts.Debug != nil {
		cfg.HTTPClient = &debugClient{next: cfg.HTTPClient, w: opts.Debug}
	}
	c := &Client{endpoint: endpoint, cfg: cfg}
	if err := c.resolveCredentials(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// resolveCredentials puts BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY
// before the default chain, and retrieves the credentials once, so that a
// missing key is known before the first request.
func (c *Client) resolveCredentials(ctx context.Context) error {
	id, secret := os.Getenv("BERTH_ACCESS_KEY_ID"), os.Getenv("BERTH_SECRET_ACCESS_KEY")
	if id != "" || secret != "" {
		if id == "" || secret == "" {
			return errors.New("set both BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY, or neither")
		}
		creds := aws.Credentials{AccessKeyID: id, SecretAccessKey: secret, SessionToken: os.Getenv("BERTH_SESSION_TOKEN"), Source: "BERTH_ACCESS_KEY_ID"}
		c.cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })
		c.keyID, c.source = id, creds.Source
		return nil
	}
	if c.cfg.Credentials == nil {
		c.noCredentials = errors.New("no credentials provider")
	} else if creds, err := c.cfg.Credentials.Retrieve(ctx); err != nil {
		c.noCredentials = err
	} else {
		c.keyID, c.source = creds.AccessKeyID, creds.Source
	}
	if c.noCredentials != nil {
		c.cfg.Credentials = aws.AnonymousCredentials{}
	}
	return nil
}

// ErrNoCredentials says that no credentials were found.
var ErrNoCredentials = errors.New("found no credentials: set BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY, or AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/credentials)")

// Anonymous returns an error wrapping ErrNoCredentials when no credentials
// were found, and nil when requests are signed.
func (c *Client) Anonymous() error {
	if c.noCredentials == nil {
		return nil
	}
	return fmt.Errorf("%w (%v)", ErrNoCredentials, c.noCredentials)
}

// Endpoint is the server's URL: scheme and host.
func (c *Client) Endpoint() string { return c.endpoint }

// Registry is the server's address as image names start with it:
// "localhost:5000" in localhost:5000/app:1.
func (c *Client) Registry() string {
	u, _ := url.Parse(c.endpoint) // RegistryEndpoint made it
	return u.Host
}

// AWSConfig is the configuration every AWS SDK service client of this
// server is made from (ecs.NewFromConfig(c.AWSConfig()), ...): the
// endpoint, credentials, region, and the --debug transport.
func (c *Client) AWSConfig() aws.Config { return c.cfg.Copy() }

// ECR is the ECR API's client.
func (c *Client) ECR() *ecr.Client { return ecr.NewFromConfig(c.cfg) }
