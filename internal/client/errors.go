package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Error is a failed request to berth, said in one line: the API's error
// code and message, or why the server could not be reached. It wraps the
// SDK's error, so errors.As still finds smithy.APIError in it.
type Error struct {
	msg string
	err error
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the SDK's error.
func (e *Error) Unwrap() error { return e.err }

// refusedCredentials are the error codes of a request whose signature or
// key the server does not accept (not of one it forbids: that is
// AccessDeniedException, whose message says who and what).
var refusedCredentials = map[string]bool{
	"UnrecognizedClientException":         true,
	"InvalidSignatureException":           true,
	"IncompleteSignatureException":        true,
	"MissingAuthenticationTokenException": true,
	"ExpiredTokenException":               true,
	"InvalidClientTokenId":                true,
	"SignatureDoesNotMatch":               true,
}

// Explain turns an error from one of the client's service clients into an
// *Error of one line, leaving other errors as they are. The SDK's own
// text ("operation error ECR: DescribeImages, https response error
// StatusCode: 400, RequestID: ..., ImageNotFoundException: ...") is for
// logs; a person wants "ImageNotFoundException: The image ...".
func (c *Client) Explain(err error) error {
	var done *Error
	if err == nil || errors.As(err, &done) {
		return err
	}
	var api smithy.APIError
	var op *net.OpError
	var ue *url.Error
	var resp *smithyhttp.ResponseError
	var operr *smithy.OperationError
	var msg string
	switch {
	case errors.As(err, &api):
		msg = api.ErrorCode()
		if m := api.ErrorMessage(); m != "" {
			msg += ": " + m
		}
		if refusedCredentials[api.ErrorCode()] {
			msg = fmt.Sprintf("%s refused %s: %s", c.endpoint, c.identity(), msg)
		}
	case errors.Is(err, context.Canceled):
		msg = "interrupted"
	case errors.Is(err, context.DeadlineExceeded):
		msg = fmt.Sprintf("no answer from %s in time", c.endpoint)
	case errors.As(err, &op):
		msg = fmt.Sprintf("cannot reach berth at %s: %v", c.endpoint, op.Err)
	case errors.As(err, &ue):
		msg = fmt.Sprintf("cannot reach berth at %s: %v", c.endpoint, ue.Err)
	case errors.As(err, &resp):
		msg = fmt.Sprintf("%s answered HTTP %d, not as berth's API answers (is it berth?): %v", c.endpoint, resp.HTTPStatusCode(), resp.Err)
	case errors.As(err, &operr):
		msg = operr.Err.Error()
	default:
		return err
	}
	return &Error{msg: strings.Join(strings.Fields(msg), " "), err: err}
}

// identity names the credentials requests are signed with, for a message
// saying the server refused them.
func (c *Client) identity() string {
	if c.noCredentials != nil {
		return "a request with no credentials (" + ErrNoCredentials.Error() + ")"
	}
	return fmt.Sprintf("access key %s (from %s)", c.keyID, c.source)
}
