package logs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/launcher/logs"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/sqlite"
)

const (
	account = "123456789012"
	region  = "eu-west-1"
)

// clock is a settable clock for the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// access records what the API asked to authorize and refuses the
// actions in deny.
type access struct {
	mu    sync.Mutex
	asked []string
	deny  map[string]bool
}

func (a *access) AuthorizeAction(_ context.Context, action, arn string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, action+" "+arn)
	if a.deny[action] {
		return awserr.Errorf(awserr.AccessDeniedException, "User: test is not authorized to perform: %s on resource: %s", action, arn)
	}
	return nil
}

func (a *access) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	asked := a.asked
	a.asked = nil
	return asked
}

// serve serves the API alone on an AWS front door with no authentication.
func serve(api *logs.API) http.Handler {
	mux := http.NewServeMux()
	api.Register(awsjson.NewFront(mux, nil, nil))
	return mux
}

// now is the test clock's start: a weekday noon, far from any edge.
var now = time.Date(2025, 3, 12, 12, 0, 0, 0, time.UTC)

type fixture struct {
	client *cwl.Client
	store  *logs.Store
	index  *sqlite.Store
	clock  *clock
	access *access
	url    string
}

// newAPI serves the Logs API over a real SQLite index and returns an SDK
// client for it.
func newAPI(t testing.TB, cfg logs.StoreConfig) *fixture {
	t.Helper()
	index, err := sqlite.Open(t.Context(), t.TempDir()+"/berth.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { index.Close() })
	f := &fixture{index: index, clock: &clock{t: now}, access: &access{deny: map[string]bool{}}}
	cfg.Now = f.clock.Now
	f.store = logs.NewStore(index, cfg)
	api, err := logs.New(t.Context(), f.store, logs.Config{AccountID: account, Region: region, Access: f.access})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(serve(api))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	f.client = cwl.New(cwl.Options{
		Region:       region,
		BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}, nil
		}),
		RetryMaxAttempts: 1,
	})
	return f
}

func assertCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Errorf("err = %v; want %s", err, code)
	}
}

func assertMessage(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || ae.ErrorMessage() != msg {
		t.Errorf("err = %v; want %s: %s", err, code, msg)
	}
}

func (f *fixture) mustCreateGroup(t *testing.T, name string) {
	t.Helper()
	if _, err := f.client.CreateLogGroup(t.Context(), &cwl.CreateLogGroupInput{LogGroupName: aws.String(name)}); err != nil {
		t.Fatalf("CreateLogGroup(%s): %v", name, err)
	}
}

func (f *fixture) mustCreateStream(t *testing.T, group, name string) {
	t.Helper()
	if _, err := f.client.CreateLogStream(t.Context(), &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(name)}); err != nil {
		t.Fatalf("CreateLogStream(%s, %s): %v", group, name, err)
	}
}

// mustPut puts messages, one millisecond apart from at.
func (f *fixture) mustPut(t *testing.T, group, stream string, at time.Time, messages ...string) {
	t.Helper()
	var events []types.InputLogEvent
	for i, m := range messages {
		events = append(events, types.InputLogEvent{Timestamp: aws.Int64(at.UnixMilli() + int64(i)), Message: aws.String(m)})
	}
	out, err := f.client.PutLogEvents(t.Context(), &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream), LogEvents: events})
	if err != nil || out.RejectedLogEventsInfo != nil {
		t.Fatalf("PutLogEvents(%s, %s) = %+v, %v", group, stream, out, err)
	}
}

func groupNames(groups []types.LogGroup) []string {
	var names []string
	for _, g := range groups {
		names = append(names, aws.ToString(g.LogGroupName))
	}
	return names
}

func assertStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q; want %q", what, got, want)
	}
}

func TestLogGroups(t *testing.T) {
	f := newAPI(t, logs.StoreConfig{})
	ctx := t.Context()
	_, err := f.client.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{
		LogGroupName: aws.String("/ecs/app"), Tags: map[string]string{"team": "platform"}, LogGroupClass: types.LogGroupClassInfrequentAccess,
	})
	if err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "authorized", f.access.take(), []string{
		"logs:CreateLogGroup arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/app:log-stream:",
		"logs:TagResource arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/app:log-stream:",
	})
	_, err = f.client.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/ecs/app")})
	assertMessage(t, err, "ResourceAlreadyExistsException", "The specified log group already exists")
	for _, name := range []string{"/ecs/web", "/aws/lambda/fn", "/aws/batch/job", "other"} {
		f.mustCreateGroup(t, name)
	}
	f.access.take()

	out, err := f.client.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/")})
	if err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "prefix /ecs/", groupNames(out.LogGroups), []string{"/ecs/app", "/ecs/web"})
	g := out.LogGroups[0]
	if aws.ToInt64(g.CreationTime) != now.UnixMilli() || aws.ToString(g.Arn) != "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/app:*" ||
		aws.ToString(g.LogGroupArn) != "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/app" || g.RetentionInDays != nil ||
		g.LogGroupClass != types.LogGroupClassInfrequentAccess || aws.ToInt64(g.StoredBytes) != 0 || out.NextToken != nil {
		t.Errorf("group = %+v", g)
	}
	if out.LogGroups[1].LogGroupClass != types.LogGroupClassStandard {
		t.Errorf("class of a group created without one = %q; want STANDARD", out.LogGroups[1].LogGroupClass)
	}
	assertStrings(t, "authorized", f.access.take(), []string{"logs:DescribeLogGroups arn:aws:logs:eu-west-1:123456789012:log-group::log-stream:"})

	// Paging, two at a time, with the SDK's paginator.
	var all []string
	pages := cwl.NewDescribeLogGroupsPaginator(f.client, &cwl.DescribeLogGroupsInput{Limit: aws.Int32(2)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.LogGroups) > 2 {
			t.Errorf("a page of limit 2 has %d groups", len(page.LogGroups))
		}
		all = append(all, groupNames(page.LogGroups)...)
	}
	assertStrings(t, "all groups", all, []string{"/aws/batch/job", "/aws/lambda/fn", "/ecs/app", "/ecs/web", "other"})
	out, err = f.client.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("a")})
	if err == nil {
		assertStrings(t, "pattern a", groupNames(out.LogGroups), []string{"/aws/batch/job", "/aws/lambda/fn", "/ecs/app"})
	}
	out, err = f.client.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupIdentifiers: []string{"other", "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/web", "nope"}})
	if err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "by identifier", groupNames(out.LogGroups), []string{"/ecs/web", "other"})

	// A token belongs to its query.
	first, err := f.client.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{Limit: aws.Int32(1)})
	if err != nil || first.NextToken == nil {
		t.Fatalf("DescribeLogGroups(limit 1) = %+v, %v", first, err)
	}
	_, err = f.client.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{NextToken: first.NextToken, LogGroupNamePrefix: aws.String("/ecs")})
	assertMessage(t, err, "InvalidParameterException", "The specified nextToken is invalid.")

	// Retention.
	_, err = f.client.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("/ecs/app"), RetentionInDays: aws.Int32(2)})
	assertCode(t, err, "InvalidParameterException")
	if _, err := f.client.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("/ecs/app"), RetentionInDays: aws.Int32(14)}); err != nil {
		t.Fatal(err)
	}
	out, _ = f.client.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/app")})
	if len(out.LogGroups) != 1 || aws.ToInt32(out.LogGroups[0].RetentionInDays) != 14 {
		t.Errorf("after PutRetentionPolicy(14): %+v", out.LogGroups)
	}
	if _, err := f.client.DeleteRetentionPolicy(ctx, &cwl.DeleteRetentionPolicyInput{LogGroupName: aws.String("/ecs/app")}); err != nil {
		t.Fatal(err)
	}
	out, _ = f.client.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/ecs/app")})
	if out.LogGroups[0].RetentionInDays != nil {
		t.Errorf("after DeleteRetentionPolicy: retention %d", *out.LogGroups[0].RetentionInDays)
	}
	_, err = f.client.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("nope"), RetentionInDays: aws.Int32(1)})
	assertMessage(t, err, "ResourceNotFoundException", "The specified log group does not exist.")

	// Tags.
	arn := aws.String("arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/app")
	if _, err := f.client.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: arn, Tags: map[string]string{"env": "dev", "team": "infra"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.UntagResource(ctx, &cwl.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"env", "absent"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := f.client.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: arn})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["team"] != "infra" {
		t.Errorf("ListTagsForResource = %+v, %v", tags, err)
	}
	many := map[string]string{}
	for i := range 50 {
		many[fmt.Sprint("k", i)] = "v"
	}
	_, err = f.client.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: arn, Tags: many})
	assertMessage(t, err, "TooManyTagsException", "A resource can have no more than 50 tags.")
	_, err = f.client.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:logs:eu-west-1:999999999999:log-group:/ecs/app")})
	assertCode(t, err, "ResourceNotFoundException")
	_, err = f.client.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:ecr:eu-west-1:123456789012:repository/app")})
	assertCode(t, err, "InvalidParameterException")
	_, err = f.client.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: arn, Tags: map[string]string{"aws:reserved": "x"}})
	assertCode(t, err, "InvalidParameterException")

	// Names as CloudWatch Logs checks them.
	for _, bad := range []string{"", "a b", "a:b", "aws/reserved", strings.Repeat("a", 513)} {
		_, err := f.client.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(bad)})
		assertCode(t, err, "InvalidParameterException")
	}

	if _, err := f.client.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("/ecs/app")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("/ecs/app")})
	assertMessage(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
}

func TestLogStreams(t *testing.T) {
	f := newAPI(t, logs.StoreConfig{})
	ctx := t.Context()
	_, err := f.client.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
	assertMessage(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	f.mustCreateGroup(t, "g")
	f.access.take()
	for _, s := range []string{"ecs/app/3", "ecs/app/1", "ecs/app/2", "idle"} {
		f.mustCreateStream(t, "g", s)
	}
	assertStrings(t, "authorized", f.access.take()[:1], []string{"logs:CreateLogStream arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:ecs/app/3"})
	_, err = f.client.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("idle")})
	assertMessage(t, err, "ResourceAlreadyExistsException", "The specified log stream already exists")
	_, err = f.client.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("a:b")})
	assertCode(t, err, "InvalidParameterException")
	f.mustPut(t, "g", "ecs/app/3", now.Add(-3*time.Minute), "three")
	f.mustPut(t, "g", "ecs/app/1", now.Add(-2*time.Minute), "one", "one again")
	f.mustPut(t, "g", "ecs/app/2", now.Add(-1*time.Minute), "two")

	describe := func(in *cwl.DescribeLogStreamsInput) []string {
		t.Helper()
		in.LogGroupName, in.Limit = aws.String("g"), aws.Int32(2)
		var names []string
		pages := cwl.NewDescribeLogStreamsPaginator(f.client, in)
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page.LogStreams {
				names = append(names, aws.ToString(s.LogStreamName))
			}
		}
		return names
	}
	assertStrings(t, "by name", describe(&cwl.DescribeLogStreamsInput{}), []string{"ecs/app/1", "ecs/app/2", "ecs/app/3", "idle"})
	assertStrings(t, "by name, descending", describe(&cwl.DescribeLogStreamsInput{Descending: aws.Bool(true)}), []string{"idle", "ecs/app/3", "ecs/app/2", "ecs/app/1"})
	assertStrings(t, "prefix", describe(&cwl.DescribeLogStreamsInput{LogStreamNamePrefix: aws.String("ecs/app/")}), []string{"ecs/app/1", "ecs/app/2", "ecs/app/3"})
	assertStrings(t, "newest first", describe(&cwl.DescribeLogStreamsInput{OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true)}),
		[]string{"ecs/app/2", "ecs/app/1", "ecs/app/3", "idle"})

	out, err := f.client.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupIdentifier: aws.String("arn:aws:logs:eu-west-1:123456789012:log-group:g"), LogStreamNamePrefix: aws.String("ecs/app/1")})
	if err != nil || len(out.LogStreams) != 1 {
		t.Fatalf("DescribeLogStreams by ARN = %+v, %v", out, err)
	}
	s := out.LogStreams[0]
	at := now.Add(-2 * time.Minute).UnixMilli()
	if aws.ToInt64(s.FirstEventTimestamp) != at || aws.ToInt64(s.LastEventTimestamp) != at+1 || aws.ToInt64(s.LastIngestionTime) != now.UnixMilli() ||
		aws.ToInt64(s.CreationTime) != now.UnixMilli() || aws.ToString(s.Arn) != "arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:ecs/app/1" ||
		aws.ToInt64(s.StoredBytes) != int64(len("one")+len("one again")+2*26) {
		t.Errorf("stream = %+v", s)
	}
	out, _ = f.client.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("g"), LogStreamNamePrefix: aws.String("idle")})
	if s := out.LogStreams[0]; s.FirstEventTimestamp != nil || s.LastEventTimestamp != nil || s.LastIngestionTime != nil {
		t.Errorf("a stream with no events has event times: %+v", s)
	}

	_, err = f.client.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("g"), OrderBy: types.OrderByLastEventTime, LogStreamNamePrefix: aws.String("e")})
	assertMessage(t, err, "InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.")
	_, err = f.client.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("g"), LogGroupIdentifier: aws.String("g")})
	assertMessage(t, err, "InvalidParameterException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	_, err = f.client.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{})
	assertCode(t, err, "InvalidParameterException")
	_, err = f.client.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("nope")})
	assertCode(t, err, "ResourceNotFoundException")

	if _, err := f.client.DeleteLogStream(ctx, &cwl.DeleteLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("ecs/app/1")}); err != nil {
		t.Fatal(err)
	}
	_, err = f.client.DeleteLogStream(ctx, &cwl.DeleteLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("ecs/app/1")})
	assertMessage(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")
	assertStrings(t, "after DeleteLogStream", describe(&cwl.DescribeLogStreamsInput{}), []string{"ecs/app/2", "ecs/app/3", "idle"})
}

func messagesOf(events []types.OutputLogEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, aws.ToString(e.Message))
	}
	return out
}

// GetLogEvents pages through a stream in both directions; each direction
// ends when the service returns the token it was given, as on AWS.
func TestGetLogEvents(t *testing.T) {
	f := newAPI(t, logs.StoreConfig{})
	ctx := t.Context()
	f.mustCreateGroup(t, "g")
	f.mustCreateStream(t, "g", "s")
	f.mustCreateStream(t, "g", "other")
	start := now.Add(-time.Hour)
	var all []string
	for i := range 7 {
		all = append(all, fmt.Sprint("line ", i))
	}
	f.mustPut(t, "g", "s", start, all...)
	get := func(in cwl.GetLogEventsInput) *cwl.GetLogEventsOutput {
		t.Helper()
		in.LogGroupName, in.LogStreamName = aws.String("g"), aws.String("s")
		out, err := f.client.GetLogEvents(ctx, &in)
		if err != nil {
			t.Fatalf("GetLogEvents(%+v): %v", in, err)
		}
		return out
	}

	// Without a token: the latest events, or the earliest from the head.
	latest := get(cwl.GetLogEventsInput{Limit: aws.Int32(3)})
	assertStrings(t, "latest 3", messagesOf(latest.Events), all[4:])
	if e := latest.Events[0]; aws.ToInt64(e.Timestamp) != start.UnixMilli()+4 || aws.ToInt64(e.IngestionTime) != now.UnixMilli() {
		t.Errorf("event = %+v", e)
	}
	assertStrings(t, "earliest 3", messagesOf(get(cwl.GetLogEventsInput{Limit: aws.Int32(3), StartFromHead: aws.Bool(true)}).Events), all[:3])
	if !strings.HasPrefix(aws.ToString(latest.NextForwardToken), "f/") || !strings.HasPrefix(aws.ToString(latest.NextBackwardToken), "b/") ||
		len(aws.ToString(latest.NextForwardToken)) != 58 {
		t.Errorf("tokens %q %q; want f/ and b/ with 56 digits", aws.ToString(latest.NextForwardToken), aws.ToString(latest.NextBackwardToken))
	}

	// Backward from the latest page to the head, then forward to the tail.
	got := messagesOf(latest.Events)
	token := latest.NextBackwardToken
	for range 10 {
		page := get(cwl.GetLogEventsInput{NextToken: token, Limit: aws.Int32(3)})
		if aws.ToString(page.NextBackwardToken) == aws.ToString(token) {
			if len(page.Events) != 0 {
				t.Errorf("the page that returned its token has events %v", messagesOf(page.Events))
			}
			break
		}
		got = append(messagesOf(page.Events), got...)
		token = page.NextBackwardToken
	}
	assertStrings(t, "backward", got, all)
	got = nil
	for range 10 {
		page := get(cwl.GetLogEventsInput{NextToken: token, Limit: aws.Int32(3)})
		if aws.ToString(page.NextForwardToken) == aws.ToString(token) {
			break
		}
		got = append(got, messagesOf(page.Events)...)
		token = page.NextForwardToken
	}
	assertStrings(t, "forward from the head", got, all)

	// The forward token at the tail picks up what is appended later.
	f.mustPut(t, "g", "s", start.Add(time.Minute), "later")
	assertStrings(t, "after the tail", messagesOf(get(cwl.GetLogEventsInput{NextToken: token}).Events), []string{"later"})

	// The SDK's paginator, which stops on a repeated token.
	var paged []string
	pages := cwl.NewGetLogEventsPaginator(f.client, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true), Limit: aws.Int32(2)},
		func(o *cwl.GetLogEventsPaginatorOptions) { o.StopOnDuplicateToken = true })
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, messagesOf(page.Events)...)
	}
	assertStrings(t, "paginator", paged, append(slices.Clone(all), "later"))

	// Time range: startTime <= timestamp < endTime.
	ranged := get(cwl.GetLogEventsInput{StartTime: aws.Int64(start.UnixMilli() + 2), EndTime: aws.Int64(start.UnixMilli() + 5), StartFromHead: aws.Bool(true)})
	assertStrings(t, "range", messagesOf(ranged.Events), all[2:5])
	if empty := get(cwl.GetLogEventsInput{StartTime: aws.Int64(start.UnixMilli() + 5), EndTime: aws.Int64(start.UnixMilli() + 5)}); len(empty.Events) != 0 {
		t.Errorf("an empty range returned %v", messagesOf(empty.Events))
	}

	// An empty stream gives tokens too, and the forward one follows it.
	empty, err := f.client.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("other")})
	if err != nil || len(empty.Events) != 0 || empty.NextForwardToken == nil || empty.NextBackwardToken == nil {
		t.Fatalf("GetLogEvents(empty stream) = %+v, %v", empty, err)
	}
	f.mustPut(t, "g", "other", start, "first")
	followed, err := f.client.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("other"), NextToken: empty.NextForwardToken})
	if err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "following an empty stream", messagesOf(followed.Events), []string{"first"})

	// Tokens are bound to their stream and cannot be made up or altered.
	forged := []byte(aws.ToString(latest.NextForwardToken))
	forged[10] = '0' + (forged[10]-'0'+1)%10
	for _, bad := range []string{"f/123", "x/" + strings.Repeat("0", 56), string(forged), "garbage", strings.Repeat("f", 100)} {
		_, err := f.client.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), NextToken: aws.String(bad)})
		assertMessage(t, err, "InvalidParameterException", "The specified nextToken is invalid.")
	}
	_, err = f.client.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("other"), NextToken: latest.NextForwardToken})
	assertCode(t, err, "InvalidParameterException")

	for _, tt := range []struct {
		group, stream string
		want          string
	}{{"nope", "s", "The specified log group does not exist."}, {"g", "nope", "The specified log stream does not exist."}} {
		_, err := f.client.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String(tt.group), LogStreamName: aws.String(tt.stream)})
		assertMessage(t, err, "ResourceNotFoundException", tt.want)
	}
}

func TestPutLogEvents(t *testing.T) {
	f := newAPI(t, logs.StoreConfig{})
	ctx := t.Context()
	f.mustCreateGroup(t, "g")
	f.mustCreateStream(t, "g", "s")
	put := func(events ...types.InputLogEvent) (*cwl.PutLogEventsOutput, error) {
		return f.client.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: events})
	}
	ev := func(at time.Time, msg string) types.InputLogEvent {
		return types.InputLogEvent{Timestamp: aws.Int64(at.UnixMilli()), Message: aws.String(msg)}
	}
	out, err := put(ev(now.Add(-15*24*time.Hour), "too old"), ev(now.Add(-time.Minute), "kept"), ev(now.Add(3*time.Hour), "too new"))
	if err != nil {
		t.Fatal(err)
	}
	r := out.RejectedLogEventsInfo
	if r == nil || aws.ToInt32(r.TooOldLogEventEndIndex) != 1 || aws.ToInt32(r.TooNewLogEventStartIndex) != 2 || r.ExpiredLogEventEndIndex != nil || aws.ToString(out.NextSequenceToken) == "" {
		t.Errorf("PutLogEvents = %+v, rejected %+v", out, r)
	}
	if _, err := f.client.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	out, err = put(ev(now.Add(-2*24*time.Hour), "expired"), ev(now, "kept too"))
	if err != nil || out.RejectedLogEventsInfo == nil || aws.ToInt32(out.RejectedLogEventsInfo.ExpiredLogEventEndIndex) != 1 {
		t.Errorf("PutLogEvents past retention = %+v, %v", out, err)
	}
	got, err := f.client.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
	if err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "stored", messagesOf(got.Events), []string{"kept", "kept too"})

	_, err = put(ev(now, "b"), ev(now.Add(-time.Second), "a"))
	assertMessage(t, err, "InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order.")
	_, err = put(ev(now.Add(-13*24*time.Hour), "a"), ev(now, "b"))
	if _, err2 := f.client.DeleteRetentionPolicy(ctx, &cwl.DeleteRetentionPolicyInput{LogGroupName: aws.String("g")}); err2 != nil {
		t.Fatal(err2)
	}
	_, err = put(ev(now.Add(-13*24*time.Hour), "a"), ev(now, "b"))
	assertMessage(t, err, "InvalidParameterException", "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	_, err = put(ev(now, ""))
	assertCode(t, err, "InvalidParameterException")
	big := strings.Repeat("x", 600_000)
	_, err = put(ev(now, big), ev(now, big))
	assertCode(t, err, "InvalidParameterException")
	_, err = f.client.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("nope"), LogEvents: []types.InputLogEvent{ev(now, "x")}})
	assertMessage(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")
	_, err = f.client.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("s"), LogEvents: []types.InputLogEvent{ev(now, "x")}})
	assertMessage(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
}

func filtered(t *testing.T, f *fixture, in *cwl.FilterLogEventsInput) []string {
	t.Helper()
	if in.LogGroupName == nil && in.LogGroupIdentifier == nil {
		in.LogGroupName = aws.String("g")
	}
	var got []string
	pages := cwl.NewFilterLogEventsPaginator(f.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(t.Context())
		if err != nil {
			t.Fatalf("FilterLogEvents(%+v): %v", in, err)
		}
		for _, e := range page.Events {
			got = append(got, aws.ToString(e.LogStreamName)+":"+aws.ToString(e.Message))
		}
	}
	return got
}

func TestFilterLogEvents(t *testing.T) {
	f := newAPI(t, logs.StoreConfig{})
	ctx := t.Context()
	f.mustCreateGroup(t, "g")
	for _, s := range []string{"web/1", "web/2", "db"} {
		f.mustCreateStream(t, "g", s)
	}
	start := now.Add(-time.Hour)
	f.mustPut(t, "g", "web/1", start, "GET / 200", "GET /x 404 ERROR not found", "POST /y 500 ERROR Exception")
	f.mustPut(t, "g", "web/2", start.Add(time.Millisecond), "GET / 200", `WARN "quoted" thing`)
	f.mustPut(t, "g", "db", start.Add(10*time.Millisecond), "ERROR deadlock", "checkpoint")

	all := []string{"web/1:GET / 200", "web/1:GET /x 404 ERROR not found", "web/2:GET / 200", "web/1:POST /y 500 ERROR Exception",
		`web/2:WARN "quoted" thing`, "db:ERROR deadlock", "db:checkpoint"}
	assertStrings(t, "all", filtered(t, f, &cwl.FilterLogEventsInput{}), all)
	assertStrings(t, "all, pages of 2", filtered(t, f, &cwl.FilterLogEventsInput{Limit: aws.Int32(2)}), all)
	for _, tt := range []struct {
		pattern string
		want    []string
	}{
		{"ERROR", []string{"web/1:GET /x 404 ERROR not found", "web/1:POST /y 500 ERROR Exception", "db:ERROR deadlock"}},
		{"ERROR Exception", []string{"web/1:POST /y 500 ERROR Exception"}},
		{"?deadlock ?WARN", []string{`web/2:WARN "quoted" thing`, "db:ERROR deadlock"}},
		{"ERROR -deadlock -404", []string{"web/1:POST /y 500 ERROR Exception"}},
		{`ERROR - "not found"`, []string{"web/1:POST /y 500 ERROR Exception", "db:ERROR deadlock"}},
		{`"not found"`, []string{"web/1:GET /x 404 ERROR not found"}},
		{`"\"quoted\""`, []string{`web/2:WARN "quoted" thing`}},
		{"error", nil},
		{`""`, all},
		{"", all},
	} {
		assertStrings(t, "pattern "+tt.pattern, filtered(t, f, &cwl.FilterLogEventsInput{FilterPattern: aws.String(tt.pattern)}), tt.want)
	}
	assertStrings(t, "streams", filtered(t, f, &cwl.FilterLogEventsInput{LogStreamNames: []string{"db", "web/2"}, FilterPattern: aws.String("?GET ?checkpoint")}),
		[]string{"web/2:GET / 200", "db:checkpoint"})
	assertStrings(t, "prefix", filtered(t, f, &cwl.FilterLogEventsInput{LogStreamNamePrefix: aws.String("web/"), FilterPattern: aws.String("ERROR")}),
		[]string{"web/1:GET /x 404 ERROR not found", "web/1:POST /y 500 ERROR Exception"})
	// startTime and endTime are both in the range.
	assertStrings(t, "time range", filtered(t, f, &cwl.FilterLogEventsInput{StartTime: aws.Int64(start.UnixMilli() + 1), EndTime: aws.Int64(start.UnixMilli() + 2)}),
		[]string{"web/1:GET /x 404 ERROR not found", "web/2:GET / 200", "web/1:POST /y 500 ERROR Exception", `web/2:WARN "quoted" thing`})
	assertStrings(t, "by identifier", filtered(t, f, &cwl.FilterLogEventsInput{LogGroupIdentifier: aws.String("arn:aws:logs:eu-west-1:123456789012:log-group:g"), FilterPattern: aws.String("checkpoint")}),
		[]string{"db:checkpoint"})

	out, err := f.client.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, e := range out.Events {
		if id := aws.ToString(e.EventId); len(id) != 56 || ids[id] || aws.ToInt64(e.IngestionTime) != now.UnixMilli() {
			t.Errorf("event %+v: eventId not 56 digits, repeated or ingestion time wrong", e)
		}
		ids[aws.ToString(e.EventId)] = true
	}
	if out.NextToken != nil || out.SearchedLogStreams == nil {
		t.Errorf("the last page: nextToken %v, searchedLogStreams %v", out.NextToken, out.SearchedLogStreams)
	}

	_, err = f.client.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String("{ $.level = \"error\" }")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterException" || !strings.Contains(ae.ErrorMessage(), "JSON") {
		t.Errorf("a JSON pattern: err = %v; want InvalidParameterException naming JSON patterns", err)
	}
	for _, bad := range []string{"[ip, user]", "%ERR.R%", `"unclosed`, "ERROR -", strings.Repeat("a", 1025)} {
		_, err := f.client.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String(bad)})
		assertCode(t, err, "InvalidParameterException")
	}
	page, err := f.client.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(1)})
	if err != nil || page.NextToken == nil {
		t.Fatalf("FilterLogEvents(limit 1) = %+v, %v", page, err)
	}
	_, err = f.client.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), NextToken: page.NextToken, FilterPattern: aws.String("ERROR")})
	assertMessage(t, err, "InvalidParameterException", "The specified nextToken is invalid.")
	_, err = f.client.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), LogStreamNames: []string{"db"}, LogStreamNamePrefix: aws.String("d")})
	assertCode(t, err, "InvalidParameterException")
	_, err = f.client.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("nope")})
	assertMessage(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
}

// Every operation authorizes its own action on its resource, and a
// refusal reaches the client as AccessDeniedException before anything is
// read or written.
func TestAuthorization(t *testing.T) {
	f := newAPI(t, logs.StoreConfig{})
	ctx := t.Context()
	f.mustCreateGroup(t, "g")
	f.mustCreateStream(t, "g", "s")
	f.mustPut(t, "g", "s", now, "secret")
	f.access.take()
	f.access.deny["logs:GetLogEvents"] = true
	f.access.deny["logs:DeleteLogGroup"] = true
	_, err := f.client.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
	assertMessage(t, err, "AccessDeniedException", "User: test is not authorized to perform: logs:GetLogEvents on resource: arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:s")
	_, err = f.client.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("g")})
	assertCode(t, err, "AccessDeniedException")
	if _, err := f.index.LogGroup(ctx, "g"); err != nil {
		t.Errorf("the group is gone after a refused DeleteLogGroup: %v", err)
	}
	if _, err := f.client.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.client.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(now.UnixMilli()), Message: aws.String("x")}}}); err != nil {
		t.Fatal(err)
	}
	assertStrings(t, "authorized", f.access.take(), []string{
		"logs:GetLogEvents arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:s",
		"logs:DeleteLogGroup arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:",
		"logs:FilterLogEvents arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:",
		"logs:PutLogEvents arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:s",
	})
}

// Bad requests of every kind get CloudWatch's error with a 4xx, never a
// 500: raw bodies, as a careless client would send them.
func TestBadRequests(t *testing.T) {
	f := newAPI(t, logs.StoreConfig{})
	f.mustCreateGroup(t, "g")
	f.mustCreateStream(t, "g", "s")
	tests := []struct {
		op, body string
		status   int
		typ      string
	}{
		{"CreateLogGroup", `{"logGroupName":`, 400, "SerializationException"},
		{"CreateLogGroup", `[]`, 400, "SerializationException"},
		{"CreateLogGroup", `{"logGroupName":7}`, 400, "SerializationException"},
		{"CreateLogGroup", `{}`, 400, "InvalidParameterException"},
		{"DescribeLogGroups", `{"limit":0}`, 400, "InvalidParameterException"},
		{"DescribeLogGroups", `{"limit":51}`, 400, "InvalidParameterException"},
		{"DescribeLogGroups", `{"limit":-9223372036854775808}`, 400, "InvalidParameterException"},
		{"DescribeLogGroups", `{"limit":1e30}`, 400, "SerializationException"},
		{"DescribeLogGroups", `{"nextToken":"x"}`, 400, "InvalidParameterException"},
		{"DescribeLogGroups", `{"logGroupNamePrefix":"a","logGroupNamePattern":"b"}`, 400, "InvalidParameterException"},
		{"DescribeLogStreams", `{"logGroupName":"g","limit":1000000}`, 400, "InvalidParameterException"},
		{"DescribeLogStreams", `{"logGroupName":"g","orderBy":"Size"}`, 400, "InvalidParameterException"},
		{"DescribeLogStreams", `{"logGroupName":"g","nextToken":"AAAA"}`, 400, "InvalidParameterException"},
		{"GetLogEvents", `{"logGroupName":"g","logStreamName":"s","limit":10001}`, 400, "InvalidParameterException"},
		{"GetLogEvents", `{"logGroupName":"g","logStreamName":"s","limit":0}`, 400, "InvalidParameterException"},
		{"GetLogEvents", `{"logGroupName":"g","logStreamName":"s","startTime":-1}`, 400, "InvalidParameterException"},
		{"GetLogEvents", `{"logGroupName":"g","logStreamName":"s","nextToken":"b/` + strings.Repeat("9", 56) + `"}`, 400, "InvalidParameterException"},
		{"GetLogEvents", `{"logGroupName":"g"}`, 400, "InvalidParameterException"},
		{"GetLogEvents", `{"logGroupName":"g","logStreamName":"nope"}`, 400, "ResourceNotFoundException"},
		{"FilterLogEvents", `{"logGroupName":"g","limit":99999999}`, 400, "InvalidParameterException"},
		{"FilterLogEvents", `{"logGroupName":"g","logStreamNames":[]}`, 400, "InvalidParameterException"},
		{"FilterLogEvents", `{"logGroupName":"g","nextToken":"` + strings.Repeat("A", 5000) + `"}`, 400, "InvalidParameterException"},
		{"FilterLogEvents", `{"logGroupIdentifier":"arn:aws:logs:eu-west-1:123456789012:repository/x"}`, 400, "InvalidParameterException"},
		{"PutLogEvents", `{"logGroupName":"g","logStreamName":"s","logEvents":[{"message":"x"}]}`, 400, "InvalidParameterException"},
		{"PutLogEvents", `{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":-5,"message":"x"}]}`, 400, "InvalidParameterException"},
		{"PutLogEvents", `{"logGroupName":"g","logStreamName":"s"}`, 400, "InvalidParameterException"},
		{"PutLogEvents", `{"logGroupName":"g","logStreamName":"s","logEvents":[]}`, 400, "InvalidParameterException"},
		{"PutLogEvents", `{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"message":"x"}],"sequenceToken":"ignored"}`, 200, ""},
		{"PutRetentionPolicy", `{"logGroupName":"g"}`, 400, "InvalidParameterException"},
		{"PutRetentionPolicy", `{"logGroupName":"g","retentionInDays":4000}`, 400, "InvalidParameterException"},
		{"TagResource", `{"resourceArn":"arn:aws:logs:eu-west-1:123456789012:log-group:g"}`, 400, "InvalidParameterException"},
		{"UntagResource", `{"resourceArn":"x","tagKeys":["a"]}`, 400, "InvalidParameterException"},
		{"StartQuery", `{}`, 400, "UnknownOperationException"},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), "POST", f.url+"/", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", logs.TargetPrefix+"."+tt.op)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			var e struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			json.Unmarshal(body, &e)
			if resp.StatusCode != tt.status || e.Type != tt.typ || (tt.status != 200) != (e.Message != "") {
				t.Errorf("%s %s: %s %s; want %d %s", tt.op, tt.body, resp.Status, body, tt.status, tt.typ)
			}
		})
	}
}

// Any body for any operation gets a CloudWatch answer: 200, or a 4xx
// whose body names an error type; never a 500 or a hang.
func FuzzAPI(f *testing.F) {
	fx := newAPI(f, logs.StoreConfig{})
	if err := fx.store.CreateGroup(f.Context(), metadata.LogGroup{Name: "g"}); err != nil {
		f.Fatal(err)
	}
	if err := fx.store.CreateStream(f.Context(), "g", "s"); err != nil {
		f.Fatal(err)
	}
	ops := []string{
		"CreateLogGroup", "DeleteLogGroup", "DescribeLogGroups", "PutRetentionPolicy", "DeleteRetentionPolicy",
		"TagResource", "UntagResource", "ListTagsForResource", "CreateLogStream", "DeleteLogStream",
		"DescribeLogStreams", "PutLogEvents", "GetLogEvents", "FilterLogEvents",
	}
	for i, body := range []string{
		`{"logGroupName":"g"}`, `{}`, `{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1741780800000,"message":"m"}]}`,
		`{"logGroupName":"g","logStreamName":"s","nextToken":"f/00000000000000000000000000000000000000000000000000000000"}`,
		`{"logGroupName":"g","filterPattern":"?a -\"b\"","limit":3,"startTime":5,"endTime":2}`,
		`{"logGroupIdentifier":"arn:aws:logs:eu-west-1:123456789012:log-group:g","orderBy":"LastEventTime","descending":true}`,
		`{"resourceArn":"arn:aws:logs:eu-west-1:123456789012:log-group:g","tags":{"a":"b"},"tagKeys":["a"]}`,
		`{"logGroupName":"g","retentionInDays":7}`, `[]`, `null`, `{"limit":"x"}`,
	} {
		f.Add(uint8(i), body)
	}
	f.Fuzz(func(t *testing.T, op uint8, body string) {
		action := ops[int(op)%len(ops)]
		req, _ := http.NewRequestWithContext(t.Context(), "POST", fx.url+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", logs.TargetPrefix+"."+action)
		resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
		if err != nil {
			t.Fatalf("%s %q: %v", action, body, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		var e struct {
			Type string `json:"__type"`
		}
		if resp.StatusCode >= 500 || json.NewDecoder(resp.Body).Decode(&e) != nil || e.Type == "" {
			t.Fatalf("%s %q: %s, __type %q", action, body, resp.Status, e.Type)
		}
	})
}

// failingIndex is an index whose reads of groups fail, as a broken
// database would.
type failingIndex struct{ *sqlite.Store }

func (failingIndex) LogGroups(context.Context, metadata.LogGroupQuery) ([]metadata.LogGroup, error) {
	return nil, errors.New("disk I/O error at /var/lib/berth/berth.db")
}

// A failure of the index is CloudWatch's server fault, which SDKs retry,
// and its cause stays in berth's log.
func TestIndexFailure(t *testing.T) {
	index, err := sqlite.Open(t.Context(), t.TempDir()+"/berth.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { index.Close() })
	api, err := logs.New(t.Context(), logs.NewStore(failingIndex{index}, logs.StoreConfig{}), logs.Config{AccountID: account, Region: region, Access: &access{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(serve(api))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/", strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", logs.TargetPrefix+".DescribeLogGroups")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), `"__type":"ServiceUnavailableException"`) || strings.Contains(string(body), "disk") {
		t.Errorf("DescribeLogGroups on a failing index: %s %s", resp.Status, body)
	}
}
