package logs

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/metadata"
)

// TargetPrefix is the X-Amz-Target prefix of every CloudWatch Logs
// operation, and SigningName the service name in its SigV4 signatures.
const (
	TargetPrefix = "Logs_20140328"
	SigningName  = "logs"
)

// Access is what the API needs from the access-control layer (package
// auth implements it).
type Access interface {
	// AuthorizeAction returns an error in AWS form (AccessDeniedException)
	// unless the caller in ctx may perform action ("logs:GetLogEvents") on
	// the resource resourceARN names.
	AuthorizeAction(ctx context.Context, action, resourceARN string) error
}

// Config configures the API.
type Config struct {
	// AccountID and Region are the account and region in ARNs.
	AccountID string
	Region    string
	// TokenSecret keys the paging tokens (at least 32 bytes); empty: a
	// random key kept in the index, so tokens survive restarts and work
	// on every replica.
	TokenSecret []byte
	// Access authorizes each operation.
	Access Access
	Log    *slog.Logger
}

// API is the CloudWatch Logs API. Register it on the AWS front door,
// which serves it to requests whose X-Amz-Target starts with
// [TargetPrefix], signed for [SigningName].
type API struct {
	svc    *awsjson.Service
	store  *Store
	index  Index
	access Access
	tokens *tokens
	scope  arn.Scope // where the log groups are
}

// New returns the API over the log store.
func New(ctx context.Context, store *Store, cfg Config) (*API, error) {
	if cfg.Access == nil {
		return nil, errors.New("logs: no Access to authorize requests with")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	secret := cfg.TokenSecret
	if len(secret) == 0 {
		var err error
		if secret, err = awsjson.StoredTokenSecret(ctx, store.index, settingTokenSecret); err != nil {
			return nil, err
		}
	}
	tokens, err := newTokens(secret)
	if err != nil {
		return nil, err
	}
	a := &API{store: store, index: store.index, access: cfg.Access, tokens: tokens,
		scope: arn.Scope{Region: cfg.Region, AccountID: cfg.AccountID}}
	a.svc = awsjson.NewService(TargetPrefix, SigningName, awsjson.WithLogger(cfg.Log),
		awsjson.WithServerFault(TypeServiceUnavailable))
	awsjson.Handle(a.svc, "CreateLogGroup", handle(a.createLogGroup))
	awsjson.Handle(a.svc, "DeleteLogGroup", handle(a.deleteLogGroup))
	awsjson.Handle(a.svc, "DescribeLogGroups", handle(a.describeLogGroups))
	awsjson.Handle(a.svc, "PutRetentionPolicy", handle(a.putRetentionPolicy))
	awsjson.Handle(a.svc, "DeleteRetentionPolicy", handle(a.deleteRetentionPolicy))
	awsjson.Handle(a.svc, "TagResource", handle(a.tagResource))
	awsjson.Handle(a.svc, "UntagResource", handle(a.untagResource))
	awsjson.Handle(a.svc, "ListTagsForResource", handle(a.listTagsForResource))
	awsjson.Handle(a.svc, "CreateLogStream", handle(a.createLogStream))
	awsjson.Handle(a.svc, "DeleteLogStream", handle(a.deleteLogStream))
	awsjson.Handle(a.svc, "DescribeLogStreams", handle(a.describeLogStreams))
	awsjson.Handle(a.svc, "PutLogEvents", handle(a.putLogEvents))
	awsjson.Handle(a.svc, "GetLogEvents", handle(a.getLogEvents))
	awsjson.Handle(a.svc, "FilterLogEvents", handle(a.filterLogEvents))
	return a, nil
}

// settingTokenSecret keeps the paging token key in the index.
const settingTokenSecret = "logs.paginationTokenKey"

// Register puts the API on the AWS front door.
func (a *API) Register(front *awsjson.Front) { front.JSON(a.svc) }

// authorize checks that the caller may perform the request's operation
// (logs:<Operation>) on a group, or a stream of it.
func (a *API) authorize(ctx context.Context, group, stream string) error {
	return a.access.AuthorizeAction(ctx, "logs:"+awsjson.Operation(ctx), a.resourceARN(group, stream))
}

// resourceARN is the ARN an operation is authorized on, the form AWS's
// own AccessDenied messages show: the stream's ARN, with an empty stream
// for operations on a whole group and an empty group too for operations
// on every group (DescribeLogGroups). Policies that grant
// "...:log-group:NAME:*" match all of a group's operations, as on AWS.
func (a *API) resourceARN(group, stream string) string {
	return a.scope.LogStream(group, stream).String()
}

// groupARN is a log group's ARN, as logGroupArn and TagResource name it.
func (a *API) groupARN(group string) string { return a.scope.LogGroup(group).String() }

var (
	groupNameRegexp  = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)
	groupIdentRegexp = regexp.MustCompile(`^[\w#+=/:,.@-]*$`)
)

// checkGroupName validates a log group name (member names it) as
// CloudWatch Logs does.
func checkGroupName(member, name string) error {
	if len(name) < 1 || len(name) > 512 {
		return validation(member, name, "Member must have length between 1 and 512")
	}
	if !groupNameRegexp.MatchString(name) {
		return validation(member, name, `Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+`)
	}
	return nil
}

// checkStreamName validates a log stream name as CloudWatch Logs does.
func checkStreamName(member, name string) error {
	if len(name) < 1 || len(name) > 512 {
		return validation(member, name, "Member must have length between 1 and 512")
	}
	if strings.ContainsAny(name, ":*") {
		return validation(member, name, "Member must satisfy regular expression pattern: [^:*]*")
	}
	return nil
}

// required returns *p, or the validation error of a missing member.
func required(member string, p *string) (string, error) {
	if p == nil {
		return "", validation(member, "null", "Member must not be null")
	}
	return *p, nil
}

// groupName returns the group a request names by logGroupName or by
// logGroupIdentifier (a name, or a log group ARN of this account and
// region); exactly one must be given.
func (a *API) groupName(name, identifier *string) (string, error) {
	switch {
	case name != nil && identifier != nil:
		return "", invalidParameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case name != nil:
		return *name, checkGroupName("logGroupName", *name)
	case identifier == nil:
		return "", invalidParameter("Either logGroupName or logGroupIdentifier must be specified.")
	}
	id := *identifier
	if len(id) < 1 || len(id) > 2048 || !groupIdentRegexp.MatchString(id) {
		return "", validation("logGroupIdentifier", id, `Member must satisfy regular expression pattern: [\w#+=/:,.@-]*`)
	}
	if !strings.HasPrefix(id, "arn:") {
		return id, checkGroupName("logGroupIdentifier", id)
	}
	return a.groupFromARN(id)
}

// groupFromARN returns the group a log group ARN names ("...:log-group:
// NAME", optionally with ":*"). A group of another account or region does
// not exist here.
func (a *API) groupFromARN(text string) (string, error) {
	parsed, err := arn.Parse(text)
	name := strings.TrimSuffix(parsed.ID(), ":*")
	if err != nil || !parsed.Is(arn.Logs, "log-group") || checkGroupName("resourceArn", name) != nil {
		return "", invalidParameter("Invalid log group ARN: %s", text)
	}
	if parsed.Region != a.scope.Region || parsed.AccountID != a.scope.AccountID {
		return "", metadata.ErrLogGroupUnknown
	}
	return name, nil
}

// checkLimit validates an optional limit member against its range and
// returns it, or def when it is absent.
func checkLimit(limit *int, maxLimit, def int) (int, error) {
	switch {
	case limit == nil:
		return def, nil
	case *limit < 1:
		return 0, validation("limit", *limit, "Member must have value greater than or equal to 1")
	case *limit > maxLimit:
		return 0, validation("limit", *limit, "Member must have value less than or equal to "+strconv.Itoa(maxLimit))
	}
	return *limit, nil
}
