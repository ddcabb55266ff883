package logs

import (
	"context"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/metadata"
)

type streamInput struct {
	LogGroupName  *string `json:"logGroupName"`
	LogStreamName *string `json:"logStreamName"`
}

// stream validates the group and stream of a single-stream operation and
// authorizes the request's operation on the stream.
func (a *API) stream(ctx context.Context, group, stream *string) (string, string, error) {
	g, err := required("logGroupName", group)
	if err != nil {
		return "", "", err
	}
	if err := checkGroupName("logGroupName", g); err != nil {
		return "", "", err
	}
	s, err := required("logStreamName", stream)
	if err != nil {
		return "", "", err
	}
	if err := checkStreamName("logStreamName", s); err != nil {
		return "", "", err
	}
	return g, s, a.authorize(ctx, g, s)
}

// createLogStream is CreateLogStream.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogStream.html
func (a *API) createLogStream(ctx context.Context, in *streamInput) (*struct{}, error) {
	group, stream, err := a.stream(ctx, in.LogGroupName, in.LogStreamName)
	if err != nil {
		return nil, err
	}
	return nil, a.store.CreateStream(ctx, group, stream)
}

// deleteLogStream is DeleteLogStream: the stream and its events go at
// once (the sweep deletes the events' rows later).
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DeleteLogStream.html
func (a *API) deleteLogStream(ctx context.Context, in *streamInput) (*struct{}, error) {
	group, stream, err := a.stream(ctx, in.LogGroupName, in.LogStreamName)
	if err != nil {
		return nil, err
	}
	return nil, a.index.DeleteLogStream(ctx, group, stream)
}

type describeLogStreamsInput struct {
	LogGroupName        *string `json:"logGroupName"`
	LogGroupIdentifier  *string `json:"logGroupIdentifier"`
	LogStreamNamePrefix *string `json:"logStreamNamePrefix"`
	OrderBy             *string `json:"orderBy"`
	Descending          bool    `json:"descending"`
	NextToken           *string `json:"nextToken"`
	Limit               *int    `json:"limit"`
}

// logStream is CloudWatch Logs' LogStream output shape. The event times
// are left out while the stream has no event, as AWS does.
type logStream struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp *int64 `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  *int64 `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   *int64 `json:"lastIngestionTime,omitempty"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

type describeLogStreamsOutput struct {
	LogStreams []logStream `json:"logStreams"`
	NextToken  *string     `json:"nextToken,omitempty"`
}

// streamCursor is where a DescribeLogStreams page ended.
type streamCursor struct {
	Name              string `json:"n"`
	LastEventTime     int64  `json:"t,omitempty"`
	LastIngestionTime int64  `json:"i,omitempty"`
}

// describeLogStreams is DescribeLogStreams: a group's streams by name or
// by last event time, either way round, 50 a page at most.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeLogStreams.html
func (a *API) describeLogStreams(ctx context.Context, in *describeLogStreamsInput) (*describeLogStreamsOutput, error) {
	group, err := a.groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	limit, err := checkLimit(in.Limit, 50, 50)
	if err != nil {
		return nil, err
	}
	q := metadata.LogStreamQuery{Group: group, Descending: in.Descending, Limit: limit + 1}
	if in.LogStreamNamePrefix != nil {
		if err := checkStreamName("logStreamNamePrefix", *in.LogStreamNamePrefix); err != nil {
			return nil, err
		}
		q.Prefix = *in.LogStreamNamePrefix
	}
	if in.OrderBy != nil {
		switch *in.OrderBy {
		case "LogStreamName":
		case "LastEventTime":
			if in.LogStreamNamePrefix != nil {
				return nil, invalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
			}
			q.ByLastEventTime = true
		default:
			return nil, validation("orderBy", *in.OrderBy, "Member must satisfy enum value set: [LogStreamName, LastEventTime]")
		}
	}
	if err := a.authorize(ctx, group, ""); err != nil {
		return nil, err
	}
	binding := awsjson.Binding("DescribeLogStreams", group, q.Prefix, q.ByLastEventTime, q.Descending)
	if in.NextToken != nil {
		var c streamCursor
		if err := a.tokens.decode(*in.NextToken, binding, &c); err != nil {
			return nil, err
		}
		q.After = &metadata.LogStream{Name: c.Name, LastEventTime: c.LastEventTime, LastIngestionTime: c.LastIngestionTime}
	}
	streams, err := a.index.LogStreams(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &describeLogStreamsOutput{LogStreams: []logStream{}}
	if len(streams) > limit {
		streams = streams[:limit]
		last := streams[limit-1]
		if out.NextToken, err = a.tokens.encode(binding, streamCursor{last.Name, last.LastEventTime, last.LastIngestionTime}); err != nil {
			return nil, err
		}
	}
	for _, s := range streams {
		ls := logStream{
			LogStreamName: s.Name, CreationTime: s.CreatedAt.UnixMilli(), StoredBytes: s.StoredBytes,
			Arn: a.groupARN(group) + ":log-stream:" + s.Name,
		}
		if s.LastIngestionTime != 0 {
			ls.FirstEventTimestamp, ls.LastEventTimestamp, ls.LastIngestionTime = &s.FirstEventTime, &s.LastEventTime, &s.LastIngestionTime
		}
		out.LogStreams = append(out.LogStreams, ls)
	}
	return out, nil
}
