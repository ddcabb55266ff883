package logs

import (
	"context"
	"errors"

	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/metadata"
)

// CloudWatch Logs' error names (the botocore model's exception shapes for
// the operations berth serves) beyond awserr's shared ones. Authentication
// and authorization errors (AccessDeniedException, ...) come from the
// front door and Access in their own AWS form and pass through.
const (
	TypeInvalidParameter      = awserr.InvalidParameterException
	TypeResourceNotFound      = "ResourceNotFoundException"
	TypeResourceAlreadyExists = "ResourceAlreadyExistsException"
	TypeTooManyTags           = "TooManyTagsException"
	// TypeServiceUnavailable is CloudWatch Logs' only server fault: the
	// index failed, and the client may retry. The front door sends it,
	// with the generic message, for every error with no AWS form.
	TypeServiceUnavailable = "ServiceUnavailableException"
)

// errorTable is how the log store's errors reach the wire: each error
// value with the name and message CloudWatch Logs answers with.
var errorTable = []struct {
	err     error
	typ     string
	message string
}{
	{metadata.ErrLogGroupUnknown, TypeResourceNotFound, "The specified log group does not exist."},
	{metadata.ErrLogGroupExists, TypeResourceAlreadyExists, "The specified log group already exists"},
	{metadata.ErrLogStreamUnknown, TypeResourceNotFound, "The specified log stream does not exist."},
	{metadata.ErrLogStreamExists, TypeResourceAlreadyExists, "The specified log stream already exists"},
	{errInvalidToken, TypeInvalidParameter, "The specified nextToken is invalid."},
	{errTooManyTags, TypeTooManyTags, "A resource can have no more than 50 tags."},
}

var (
	// errInvalidToken: a nextToken that was altered, belongs to another
	// stream, group or query, or was never one of ours.
	errInvalidToken = errors.New("logs: invalid nextToken")
	errTooManyTags  = errors.New("logs: more than 50 tags")
)

// handle wraps an operation so that its errors go through wire: the one
// place the Logs API gives the store's errors CloudWatch's form.
func handle[In, Out any](fn func(context.Context, *In) (*Out, error)) func(context.Context, *In) (*Out, error) {
	return func(ctx context.Context, in *In) (*Out, error) {
		out, err := fn(ctx, in)
		if err != nil {
			return nil, wire(err)
		}
		return out, nil
	}
}

// wire returns err in CloudWatch Logs' form: errors already in an AWS form
// as they are, the table's errors with their names, a refused filter
// pattern as an InvalidParameterException, and anything else as it is,
// which the front door sends as a ServiceUnavailableException and logs.
func wire(err error) error {
	var ae *awserr.Error
	if errors.As(err, &ae) {
		return err
	}
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			return awserr.Errorf(e.typ, "%s", e.message).WithCause(err)
		}
	}
	var pe *PatternError
	if errors.As(err, &pe) {
		return awserr.Errorf(TypeInvalidParameter, "%s", pe.Error()).WithCause(err)
	}
	return err
}

// invalidParameter is an InvalidParameterException with a message of
// berth's own.
func invalidParameter(format string, args ...any) error {
	return awserr.Errorf(TypeInvalidParameter, format, args...)
}

// validation is the InvalidParameterException CloudWatch Logs sends for
// an input that breaks its model's constraints, in AWS's wording.
func validation(member string, value any, constraint string) error {
	return invalidParameter("1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}
