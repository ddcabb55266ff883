package sigv4_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/berth-dev/berth/auth/sigv4"

	"github.com/berth-dev/berth/internal/awserr"
)

// keys is a fixed credential store.
type keys map[string]string

func (k keys) Secret(_ context.Context, accessKeyID string) (string, error) {
	if s, ok := k[accessKeyID]; ok {
		return s, nil
	}
	return "", sigv4.ErrUnknownAccessKey
}

// A request as aws-cli 2.9.19 sent it ("aws ecr get-login-password").
const getAuthorizationToken = "POST / HTTP/1.1\r\n" +
	"Host: 127.0.0.1:18081\r\n" +
	"X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken\r\n" +
	"Content-Type: application/x-amz-json-1.1\r\n" +
	"X-Amz-Date: 20261128T111317Z\r\n" +
	"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261128/us-east-1/ecr/aws4_request, " +
	"SignedHeaders=content-type;host;x-amz-date;x-amz-target, " +
	"Signature=e87fba54408343d5828c268270530b8fead4a399c1a1bcec0f0c96799c18841a\r\n" +
	"Content-Length: 2\r\n\r\n{}"

func ExampleVerify() {
	r, _ := http.ReadRequest(bufio.NewReader(strings.NewReader(getAuthorizationToken)))

	// Read the (small, JSON) body with a limit, and hash it for Verify.
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	creds := keys{"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
	opts := sigv4.Options{
		Service: "ecr",
		Now:     func() time.Time { return time.Date(2026, 11, 28, 11, 20, 0, 0, time.UTC) },
	}

	id, err := sigv4.Verify(r.Context(), r, sigv4.HashPayload(body), creds, opts)
	fmt.Println(id.AccessKeyID, id.Region, id.Service, id.SignedAt, err)

	// Twenty minutes later the same request has expired.
	opts.Now = func() time.Time { return time.Date(2026, 11, 28, 11, 40, 0, 0, time.UTC) }
	_, err = sigv4.Verify(r.Context(), r, sigv4.HashPayload(body), creds, opts)
	var aerr *awserr.Error
	if errors.As(err, &aerr) {
		fmt.Printf(`%d {"__type":%q,"message":%q}`+"\n", aerr.HTTPStatus(), aerr.Type, aerr.Message)
	}
	// Output:
	// AKIDEXAMPLE us-east-1 ecr 2026-11-28 11:13:17 +0000 UTC <nil>
	// 400 {"__type":"InvalidSignatureException","message":"Signature expired: 20261128T111317Z is now earlier than 20261128T112500Z (20261128T114000Z - 15 min.)"}
}
