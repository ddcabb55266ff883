package logs

import (
	"context"
	"errors"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/metadata"
)

// logGroup is CloudWatch Logs' LogGroup output shape.
type logGroup struct {
	LogGroupName      string  `json:"logGroupName"`
	CreationTime      int64   `json:"creationTime"`
	RetentionInDays   *int    `json:"retentionInDays,omitempty"`
	MetricFilterCount int     `json:"metricFilterCount"`
	Arn               string  `json:"arn"`
	StoredBytes       int64   `json:"storedBytes"`
	KmsKeyID          *string `json:"kmsKeyId,omitempty"`
	LogGroupClass     string  `json:"logGroupClass"`
	LogGroupArn       string  `json:"logGroupArn"`
}

func (a *API) logGroupOut(g metadata.LogGroup) logGroup {
	out := logGroup{
		LogGroupName: g.Name, CreationTime: g.CreatedAt.UnixMilli(), StoredBytes: g.StoredBytes,
		Arn: a.groupARN(g.Name) + ":*", LogGroupArn: a.groupARN(g.Name), LogGroupClass: g.Class,
	}
	if g.RetentionDays > 0 {
		out.RetentionInDays = &g.RetentionDays
	}
	if g.KMSKeyID != "" {
		out.KmsKeyID = &g.KMSKeyID
	}
	if out.LogGroupClass == "" {
		out.LogGroupClass = "STANDARD"
	}
	return out
}

var groupClasses = []string{"STANDARD", "INFREQUENT_ACCESS", "DELIVERY"}

type createLogGroupInput struct {
	LogGroupName  *string           `json:"logGroupName"`
	KmsKeyID      *string           `json:"kmsKeyId"`
	Tags          map[string]string `json:"tags"`
	LogGroupClass *string           `json:"logGroupClass"`
}

// createLogGroup is CreateLogGroup.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
func (a *API) createLogGroup(ctx context.Context, in *createLogGroupInput) (*struct{}, error) {
	name, err := required("logGroupName", in.LogGroupName)
	if err != nil {
		return nil, err
	}
	if err := checkGroupName("logGroupName", name); err != nil {
		return nil, err
	}
	if strings.HasPrefix(name, "aws/") {
		return nil, invalidParameter("Log group names can't start with 'aws/'.")
	}
	g := metadata.LogGroup{Name: name}
	if in.KmsKeyID != nil {
		if len(*in.KmsKeyID) > 256 {
			return nil, validation("kmsKeyId", *in.KmsKeyID, "Member must have length less than or equal to 256")
		}
		g.KMSKeyID = *in.KmsKeyID
	}
	if in.LogGroupClass != nil {
		if !slices.Contains(groupClasses, *in.LogGroupClass) {
			return nil, validation("logGroupClass", *in.LogGroupClass, "Member must satisfy enum value set: ["+strings.Join(groupClasses, ", ")+"]")
		}
		g.Class = *in.LogGroupClass
	}
	if in.Tags != nil {
		if err := checkTags(in.Tags); err != nil {
			return nil, err
		}
		g.Tags = in.Tags
	}
	if err := a.authorize(ctx, name, ""); err != nil {
		return nil, err
	}
	if len(g.Tags) > 0 {
		// Tagging on creation also needs the tagging permission.
		if err := a.access.AuthorizeAction(ctx, "logs:TagResource", a.resourceARN(name, "")); err != nil {
			return nil, err
		}
	}
	return nil, a.store.CreateGroup(ctx, g)
}

type groupInput struct {
	LogGroupName *string `json:"logGroupName"`
}

// group validates the group every single-group operation takes and
// authorizes the request's operation on it.
func (a *API) group(ctx context.Context, in groupInput) (string, error) {
	name, err := required("logGroupName", in.LogGroupName)
	if err != nil {
		return "", err
	}
	if err := checkGroupName("logGroupName", name); err != nil {
		return "", err
	}
	return name, a.authorize(ctx, name, "")
}

// deleteLogGroup is DeleteLogGroup.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DeleteLogGroup.html
func (a *API) deleteLogGroup(ctx context.Context, in *groupInput) (*struct{}, error) {
	name, err := a.group(ctx, *in)
	if err != nil {
		return nil, err
	}
	return nil, a.index.DeleteLogGroup(ctx, name)
}

type describeLogGroupsInput struct {
	LogGroupNamePrefix  *string  `json:"logGroupNamePrefix"`
	LogGroupNamePattern *string  `json:"logGroupNamePattern"`
	LogGroupClass       *string  `json:"logGroupClass"`
	LogGroupIdentifiers []string `json:"logGroupIdentifiers"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int     `json:"limit"`
	// includeLinkedAccounts and accountIdentifiers name monitoring
	// accounts; berth has one account, so they change nothing.
}

type describeLogGroupsOutput struct {
	LogGroups []logGroup `json:"logGroups"`
	NextToken *string    `json:"nextToken,omitempty"`
}

var groupPatternRegexp = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]*$`)

// describeLogGroups is DescribeLogGroups: groups in byte order of their
// names, by prefix, substring, class or identifier, 50 a page at most.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogGroups.html
func (a *API) describeLogGroups(ctx context.Context, in *describeLogGroupsInput) (*describeLogGroupsOutput, error) {
	limit, err := checkLimit(in.Limit, 50, 50)
	if err != nil {
		return nil, err
	}
	q := metadata.LogGroupQuery{Limit: limit + 1}
	if in.LogGroupNamePrefix != nil {
		if err := checkGroupName("logGroupNamePrefix", *in.LogGroupNamePrefix); err != nil {
			return nil, err
		}
		q.Prefix = *in.LogGroupNamePrefix
	}
	if in.LogGroupNamePattern != nil {
		if in.LogGroupNamePrefix != nil {
			return nil, invalidParameter("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
		}
		if p := *in.LogGroupNamePattern; len(p) > 512 || !groupPatternRegexp.MatchString(p) {
			return nil, validation("logGroupNamePattern", p, `Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]*`)
		}
		q.Contains = *in.LogGroupNamePattern
	}
	if in.LogGroupClass != nil {
		if !slices.Contains(groupClasses, *in.LogGroupClass) {
			return nil, validation("logGroupClass", *in.LogGroupClass, "Member must satisfy enum value set: ["+strings.Join(groupClasses, ", ")+"]")
		}
		q.Class = *in.LogGroupClass
	}
	if err := a.authorize(ctx, "", ""); err != nil {
		return nil, err
	}
	if in.LogGroupIdentifiers != nil {
		return a.describeLogGroupsByIdentifier(ctx, in)
	}
	binding := awsjson.Binding("DescribeLogGroups", q.Prefix, q.Contains, q.Class)
	if in.NextToken != nil {
		if err := a.tokens.decode(*in.NextToken, binding, &q.After); err != nil {
			return nil, err
		}
	}
	groups, err := a.index.LogGroups(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &describeLogGroupsOutput{LogGroups: []logGroup{}}
	if len(groups) > limit {
		groups = groups[:limit]
		if out.NextToken, err = a.tokens.encode(binding, groups[limit-1].Name); err != nil {
			return nil, err
		}
	}
	for _, g := range groups {
		out.LogGroups = append(out.LogGroups, a.logGroupOut(g))
	}
	return out, nil
}

// describeLogGroupsByIdentifier describes the groups logGroupIdentifiers
// names that exist, in byte order; the only filters it takes are accounts.
func (a *API) describeLogGroupsByIdentifier(ctx context.Context, in *describeLogGroupsInput) (*describeLogGroupsOutput, error) {
	if len(in.LogGroupIdentifiers) < 1 || len(in.LogGroupIdentifiers) > 50 {
		return nil, validation("logGroupIdentifiers", len(in.LogGroupIdentifiers), "Member must have length between 1 and 50")
	}
	if in.LogGroupNamePrefix != nil || in.LogGroupNamePattern != nil || in.LogGroupClass != nil || in.NextToken != nil {
		return nil, invalidParameter("logGroupIdentifiers can be combined only with includeLinkedAccounts.")
	}
	var names []string
	for _, id := range in.LogGroupIdentifiers {
		name, err := a.groupName(nil, &id)
		if errors.Is(err, metadata.ErrLogGroupUnknown) {
			continue
		}
		if err != nil {
			return nil, err
		}
		names = append(names, name)
	}
	slices.Sort(names)
	out := &describeLogGroupsOutput{LogGroups: []logGroup{}}
	for _, name := range slices.Compact(names) {
		g, err := a.index.LogGroup(ctx, name)
		if errors.Is(err, metadata.ErrLogGroupUnknown) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out.LogGroups = append(out.LogGroups, a.logGroupOut(g))
	}
	return out, nil
}

// retentionDays are the retention settings CloudWatch Logs accepts.
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

type putRetentionPolicyInput struct {
	LogGroupName    *string `json:"logGroupName"`
	RetentionInDays *int    `json:"retentionInDays"`
}

// putRetentionPolicy is PutRetentionPolicy. Run's sweep deletes what the
// new setting expires.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
func (a *API) putRetentionPolicy(ctx context.Context, in *putRetentionPolicyInput) (*struct{}, error) {
	if in.RetentionInDays == nil {
		return nil, validation("retentionInDays", "null", "Member must not be null")
	}
	days := *in.RetentionInDays
	if !slices.Contains(retentionDays, days) {
		values := make([]string, len(retentionDays))
		for i, d := range retentionDays {
			values[i] = strconv.Itoa(d)
		}
		return nil, validation("retentionInDays", days, "Member must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
	}
	name, err := a.group(ctx, groupInput{in.LogGroupName})
	if err != nil {
		return nil, err
	}
	_, err = a.index.UpdateLogGroup(ctx, name, func(g *metadata.LogGroup) error {
		g.RetentionDays = days
		return nil
	})
	return nil, err
}

// deleteRetentionPolicy is DeleteRetentionPolicy: events never expire.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DeleteRetentionPolicy.html
func (a *API) deleteRetentionPolicy(ctx context.Context, in *groupInput) (*struct{}, error) {
	name, err := a.group(ctx, *in)
	if err != nil {
		return nil, err
	}
	_, err = a.index.UpdateLogGroup(ctx, name, func(g *metadata.LogGroup) error {
		g.RetentionDays = 0
		return nil
	})
	return nil, err
}

var tagRegexp = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// maxTags is how many tags a log group may have.
const maxTags = 50

// checkTags validates tags as the model constrains them.
func checkTags(tags map[string]string) error {
	if len(tags) < 1 {
		return validation("tags", "{}", "Member must have length greater than or equal to 1")
	}
	if len(tags) > maxTags {
		return errTooManyTags
	}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		if err := checkTagKey(k); err != nil {
			return err
		}
		if v := tags[k]; len(v) > 256 || !tagRegexp.MatchString(v) {
			return validation("tags", v, `Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`)
		}
	}
	return nil
}

func checkTagKey(k string) error {
	if len(k) < 1 || len(k) > 128 || !tagRegexp.MatchString(k) {
		return validation("tagKeys", k, `Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]+)$`)
	}
	if strings.HasPrefix(k, "aws:") {
		return invalidParameter("Tag keys starting with 'aws:' are reserved.")
	}
	return nil
}

type tagResourceInput struct {
	ResourceArn *string           `json:"resourceArn"`
	Tags        map[string]string `json:"tags"`
}

// resource validates a resourceArn member and authorizes the request's
// operation on the group it names.
func (a *API) resource(ctx context.Context, arn *string) (string, error) {
	text, err := required("resourceArn", arn)
	if err != nil {
		return "", err
	}
	name, err := a.groupFromARN(text)
	if err != nil {
		return "", err
	}
	return name, a.authorize(ctx, name, "")
}

// tagResource is TagResource: adds tags or replaces their values.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_TagResource.html
func (a *API) tagResource(ctx context.Context, in *tagResourceInput) (*struct{}, error) {
	if in.Tags == nil {
		return nil, validation("tags", "null", "Member must not be null")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	name, err := a.resource(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	_, err = a.index.UpdateLogGroup(ctx, name, func(g *metadata.LogGroup) error {
		merged := maps.Clone(g.Tags)
		if merged == nil {
			merged = map[string]string{}
		}
		maps.Copy(merged, in.Tags)
		if len(merged) > maxTags {
			return errTooManyTags
		}
		g.Tags = merged
		return nil
	})
	return nil, err
}

type untagResourceInput struct {
	ResourceArn *string  `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

// untagResource is UntagResource.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_UntagResource.html
func (a *API) untagResource(ctx context.Context, in *untagResourceInput) (*struct{}, error) {
	if in.TagKeys == nil {
		return nil, validation("tagKeys", "null", "Member must not be null")
	}
	if len(in.TagKeys) > maxTags {
		return nil, validation("tagKeys", len(in.TagKeys), "Member must have length less than or equal to 50")
	}
	for _, k := range in.TagKeys {
		if err := checkTagKey(k); err != nil {
			return nil, err
		}
	}
	name, err := a.resource(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	_, err = a.index.UpdateLogGroup(ctx, name, func(g *metadata.LogGroup) error {
		for _, k := range in.TagKeys {
			delete(g.Tags, k)
		}
		return nil
	})
	return nil, err
}

// ResourceTags returns the tags of the log group resource names (a
// group's or one of its streams' ARN), which policies test as
// aws:ResourceTag/<key> and logs:ResourceTag/<key>; none when it does
// not exist.
func (a *API) ResourceTags(ctx context.Context, resource arn.ARN) (map[string]string, error) {
	if !resource.Is(arn.Logs, "log-group") {
		return nil, nil
	}
	name, _, _ := strings.Cut(resource.ID(), ":")
	g, err := a.index.LogGroup(ctx, name)
	if errors.Is(err, metadata.ErrLogGroupUnknown) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return g.Tags, nil
}

type listTagsForResourceInput struct {
	ResourceArn *string `json:"resourceArn"`
}

type listTagsForResourceOutput struct {
	Tags map[string]string `json:"tags"`
}

// listTagsForResource is ListTagsForResource.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_ListTagsForResource.html
func (a *API) listTagsForResource(ctx context.Context, in *listTagsForResourceInput) (*listTagsForResourceOutput, error) {
	name, err := a.resource(ctx, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	g, err := a.index.LogGroup(ctx, name)
	if err != nil {
		return nil, err
	}
	out := &listTagsForResourceOutput{Tags: g.Tags}
	if out.Tags == nil {
		out.Tags = map[string]string{}
	}
	return out, nil
}
