package metadata

import (
	"context"
	"errors"
	"time"
)

// Errors returned by the Lambda families.
var (
	ErrFunctionUnknown        = errors.New("metadata: function unknown")
	ErrFunctionExists         = errors.New("metadata: function already exists")
	ErrFunctionVersionUnknown = errors.New("metadata: function version unknown")
	ErrFunctionAliasUnknown   = errors.New("metadata: function alias unknown")
	ErrFunctionAliasExists    = errors.New("metadata: function alias already exists")
	// ErrFunctionChanged: the function's revision is not the one the
	// update was made from; another update came first.
	ErrFunctionChanged = errors.New("metadata: function modified concurrently")
)

// Function is a Lambda function: its unpublished ($LATEST) configuration
// and what belongs to the function as a whole (tags, reserved
// concurrency, URL), as the launcher's JSON Document, opaque to the index.
type Function struct {
	Name      string
	CreatedAt time.Time
	// Revision counts the function's writes: CreateFunction stores 1 and
	// each UpdateFunction one more, so that two read-modify-write cycles
	// (a user's update and the launcher's own state change) cannot lose
	// one another's work.
	Revision int64
	Document []byte
}

// Functions records Lambda functions by name.
type Functions interface {
	// CreateFunction stores f with revision 1; ErrFunctionExists if a
	// function of that name exists.
	CreateFunction(ctx context.Context, f Function) error
	// UpdateFunction replaces the document of function f.Name if its
	// revision is still from, and returns the new revision (from+1).
	// ErrFunctionUnknown if there is no such function, ErrFunctionChanged
	// if its revision moved on.
	UpdateFunction(ctx context.Context, f Function, from int64) (int64, error)
	// Function returns function name; ErrFunctionUnknown if none.
	Function(ctx context.Context, name string) (Function, error)
	// Functions lists up to n functions whose names come after after, in
	// byte order.
	Functions(ctx context.Context, after string, n int) ([]Function, error)
	// DeleteFunction deletes function name with its versions and aliases;
	// ErrFunctionUnknown if none.
	DeleteFunction(ctx context.Context, name string) error
}

// FunctionVersion is a published version of a function: a frozen copy of
// its configuration (and its state), as the launcher's JSON Document.
type FunctionVersion struct {
	Function  string
	Version   int
	CreatedAt time.Time
	Document  []byte
}

// FunctionVersions records published versions, numbered 1, 2, ... per
// function; a number is never used twice for the same function, even
// after its version is deleted.
type FunctionVersions interface {
	// PublishFunctionVersion stores v (its Function, CreatedAt and
	// Document) as the function's next version, one more than the highest
	// it ever published, and returns it with its number.
	// ErrFunctionUnknown if there is no such function.
	PublishFunctionVersion(ctx context.Context, v FunctionVersion) (FunctionVersion, error)
	// FunctionVersion returns version of function fn;
	// ErrFunctionVersionUnknown if there is none.
	FunctionVersion(ctx context.Context, fn string, version int) (FunctionVersion, error)
	// UpdateFunctionVersion replaces the Document of version v.Version of
	// v.Function, keeping its number and CreatedAt: a version's
	// configuration is frozen, but its state changes when the pull of its
	// image ends. ErrFunctionVersionUnknown if there is no such version.
	UpdateFunctionVersion(ctx context.Context, v FunctionVersion) error
	// FunctionVersions lists up to n versions of fn numbered above after,
	// in order.
	FunctionVersions(ctx context.Context, fn string, after, n int) ([]FunctionVersion, error)
	// DeleteFunctionVersion deletes version of fn;
	// ErrFunctionVersionUnknown if there is none.
	DeleteFunctionVersion(ctx context.Context, fn string, version int) error
}

// FunctionAlias is a name for one version of a function ("$LATEST" or a
// number) and, in Document, the rest of its configuration (description,
// weighted routing to a second version).
type FunctionAlias struct {
	Function string
	Name     string
	// Version is the version the alias names, as Lambda writes it: "1",
	// "$LATEST".
	Version  string
	Document []byte
}

// FunctionAliases records aliases by function and name.
type FunctionAliases interface {
	// CreateFunctionAlias stores a; ErrFunctionUnknown if its function
	// does not exist, ErrFunctionAliasExists if the name is taken.
	CreateFunctionAlias(ctx context.Context, a FunctionAlias) error
	// PutFunctionAlias replaces alias a.Name of a.Function;
	// ErrFunctionAliasUnknown if there is none.
	PutFunctionAlias(ctx context.Context, a FunctionAlias) error
	// FunctionAlias returns alias name of fn; ErrFunctionAliasUnknown if
	// none.
	FunctionAlias(ctx context.Context, fn, name string) (FunctionAlias, error)
	// FunctionAliases lists up to n aliases of fn whose names come after
	// after, in byte order.
	FunctionAliases(ctx context.Context, fn, after string, n int) ([]FunctionAlias, error)
	// DeleteFunctionAlias deletes alias name of fn;
	// ErrFunctionAliasUnknown if none.
	DeleteFunctionAlias(ctx context.Context, fn, name string) error
}

// LambdaEvent is an asynchronous (Event) invocation not done yet, kept so
// that it survives a restart: its request id, when it was queued, and the
// launcher's JSON Document (the request and its attempts so far), opaque
// to the index.
type LambdaEvent struct {
	RequestID string
	QueuedAt  time.Time
	Document  []byte
}

// LambdaEvents is the queue of asynchronous invocations.
type LambdaEvents interface {
	// PutLambdaEvent stores e, replacing the event of its request id.
	PutLambdaEvent(ctx context.Context, e LambdaEvent) error
	// DeleteLambdaEvent removes the event of requestID; none is no error.
	DeleteLambdaEvent(ctx context.Context, requestID string) error
	// LambdaEvents lists up to n events whose request ids come after
	// after, in request id order.
	LambdaEvents(ctx context.Context, after string, n int) ([]LambdaEvent, error)
}
