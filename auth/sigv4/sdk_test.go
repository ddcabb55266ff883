package sigv4

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// TestAWSSDKSigner signs requests with the AWS SDK for Go v2's signer,
// sends them through a real net/http client and server, and verifies them
// on the server side.
func TestAWSSDKSigner(t *testing.T) {
	const secret = "sdk-secret/with+odd=chars"
	creds := aws.Credentials{AccessKeyID: "AKIDSDK", SecretAccessKey: secret}
	signingTime := time.Now().UTC().Truncate(time.Second)

	tests := []struct {
		name, method, path, query, service, region string
		body                                       []byte
		header                                     http.Header
		payloadHash                                string // signer's payload hash; "" means the body's
		wantUnsigned                               bool
	}{
		{
			name: "ecr CreateRepository", method: http.MethodPost, path: "/", service: "ecr", region: "us-east-1",
			body: []byte(`{"repositoryName":"my-app"}`),
			header: http.Header{
				"Content-Type": {"application/x-amz-json-1.1"},
				"X-Amz-Target": {"AmazonEC2ContainerRegistry_V20150921.CreateRepository"},
			},
		},
		{
			name: "ecr empty body", method: http.MethodPost, path: "/", service: "ecr", region: "eu-west-3",
			header: http.Header{"X-Amz-Target": {"AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"}},
		},
		{
			name: "unusual path and query", method: http.MethodGet, service: "execute-api", region: "ap-south-1",
			path:  "/v2/team/my%20app/blobs/sha256:ab%2Fcd/%C3%BCn%C3%AF~x/",
			query: "b=2&a=1&a=0&sp=a%20b&plus=a%2Bb&slash=a/b&tilde=~x&empty=&%C3%A9=1&flag",
			header: http.Header{
				"X-Custom":  {"  a   b  ", "c"},
				"X-Another": {"x\ty"},
			},
		},
		{
			name: "x-amz-content-sha256 sent", method: http.MethodPut, path: "/upload", service: "ecr", region: "us-east-1",
			body:   []byte("layer bytes"),
			header: http.Header{"X-Amz-Content-Sha256": {HashPayload([]byte("layer bytes"))}},
		},
		{
			name: "unsigned payload", method: http.MethodPut, path: "/upload", service: "ecr", region: "us-east-1",
			body:        []byte("not covered"),
			header:      http.Header{"X-Amz-Content-Sha256": {UnsignedPayload}},
			payloadHash: UnsignedPayload, wantUnsigned: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			type result struct {
				id  *Identity
				err error
			}
			results := make(chan result, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
				if err != nil {
					t.Error(err)
				}
				opts := Options{Service: tc.service, Region: tc.region, AllowUnsignedPayload: tc.wantUnsigned}
				id, err := Verify(r.Context(), r, HashPayload(body), staticCreds{"AKIDSDK": secret}, opts)
				results <- result{id, err}
			}))
			defer srv.Close()

			url := srv.URL + tc.path
			if tc.query != "" {
				url += "?" + tc.query
			}
			req, err := http.NewRequestWithContext(t.Context(), tc.method, url, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range tc.header {
				req.Header[k] = vs
			}
			payloadHash := tc.payloadHash
			if payloadHash == "" {
				payloadHash = HashPayload(tc.body)
			}
			if err := v4.NewSigner().SignHTTP(t.Context(), creds, req, payloadHash, tc.service, tc.region, signingTime); err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()

			got := <-results
			if got.err != nil {
				t.Fatalf("Verify: %v\nAuthorization: %s", got.err, req.Header.Get("Authorization"))
			}
			want := Identity{AccessKeyID: "AKIDSDK", Region: tc.region, Service: tc.service, SignedAt: signingTime, UnsignedPayload: tc.wantUnsigned}
			if *got.id != want {
				t.Fatalf("identity = %+v, want %+v", *got.id, want)
			}
		})
	}
}
