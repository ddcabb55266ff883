package logs

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/metadata"
)

// CloudWatch Logs' limits on PutLogEvents and on the pages it returns.
const (
	maxPutEvents   = 10_000
	maxBatchBytes  = 1_048_576 // messages in UTF-8 plus 26 bytes each
	maxPageBytes   = 1 << 20   // a GetLogEvents or FilterLogEvents page
	maxPageEvents  = 10_000
	maxPatternLen  = 1024
	maxBatchSpan   = 24 * time.Hour
	maxEventAge    = 14 * 24 * time.Hour
	maxEventFuture = 2 * time.Hour
)

type inputLogEvent struct {
	Timestamp *int64  `json:"timestamp"`
	Message   *string `json:"message"`
}

type putLogEventsInput struct {
	LogGroupName  *string         `json:"logGroupName"`
	LogStreamName *string         `json:"logStreamName"`
	LogEvents     []inputLogEvent `json:"logEvents"`
	// sequenceToken and entity are accepted and ignored, as AWS now
	// ignores sequence tokens.
}

type rejectedLogEventsInfo struct {
	TooNewLogEventStartIndex *int `json:"tooNewLogEventStartIndex,omitempty"`
	TooOldLogEventEndIndex   *int `json:"tooOldLogEventEndIndex,omitempty"`
	ExpiredLogEventEndIndex  *int `json:"expiredLogEventEndIndex,omitempty"`
}

type putLogEventsOutput struct {
	NextSequenceToken     string                 `json:"nextSequenceToken"`
	RejectedLogEventsInfo *rejectedLogEventsInfo `json:"rejectedLogEventsInfo,omitempty"`
}

// putLogEvents is PutLogEvents. A batch is refused whole when it breaks a
// rule of its shape (size, order, span); events too old, past the group's
// retention or too far in the future are left out and reported, the rest
// stored.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
func (a *API) putLogEvents(ctx context.Context, in *putLogEventsInput) (*putLogEventsOutput, error) {
	switch n := len(in.LogEvents); {
	case in.LogEvents == nil:
		return nil, validation("logEvents", "null", "Member must not be null")
	case n < 1:
		return nil, validation("logEvents", "[]", "Member must have length greater than or equal to 1")
	case n > maxPutEvents:
		return nil, validation("logEvents", n, "Member must have length less than or equal to 10000")
	}
	events := make([]metadata.LogEvent, len(in.LogEvents))
	size := 0
	for i, e := range in.LogEvents {
		member := fmt.Sprintf("logEvents.%d.member", i+1)
		switch {
		case e.Timestamp == nil:
			return nil, validation(member+".timestamp", "null", "Member must not be null")
		case *e.Timestamp < 0:
			return nil, validation(member+".timestamp", *e.Timestamp, "Member must have value greater than or equal to 0")
		case e.Message == nil:
			return nil, validation(member+".message", "null", "Member must not be null")
		case *e.Message == "":
			return nil, validation(member+".message", "", "Member must have length greater than or equal to 1")
		}
		if i > 0 && *e.Timestamp < events[i-1].Time {
			return nil, invalidParameter("Log events in a single PutLogEvents request must be in chronological order.")
		}
		events[i] = metadata.LogEvent{Time: *e.Timestamp, Message: *e.Message}
		size += len(*e.Message) + metadata.LogEventOverhead
	}
	if size > maxBatchBytes {
		return nil, invalidParameter("Upload too large: %d bytes exceeds limit of %d", size, maxBatchBytes)
	}
	group, stream, err := a.stream(ctx, in.LogGroupName, in.LogStreamName)
	if err != nil {
		return nil, err
	}
	g, err := a.index.LogGroup(ctx, group)
	if err != nil {
		return nil, err
	}

	// Events are in time order, so each rejection is a run at one end.
	now := a.store.cfg.Now()
	tooOld, expired, tooNew := 0, 0, len(events)
	for i, e := range events {
		if e.Time < now.Add(-maxEventAge).UnixMilli() {
			tooOld = i + 1
		}
		if g.RetentionDays > 0 && e.Time < now.Add(-time.Duration(g.RetentionDays)*24*time.Hour).UnixMilli() {
			expired = i + 1
		}
		if e.Time > now.Add(maxEventFuture).UnixMilli() && tooNew == len(events) {
			tooNew = i
		}
	}
	out := &putLogEventsOutput{NextSequenceToken: fmt.Sprintf("%056d", now.UnixNano())}
	if tooOld > 0 || expired > 0 || tooNew < len(events) {
		out.RejectedLogEventsInfo = &rejectedLogEventsInfo{}
		if tooOld > 0 {
			out.RejectedLogEventsInfo.TooOldLogEventEndIndex = &tooOld
		}
		if expired > 0 {
			out.RejectedLogEventsInfo.ExpiredLogEventEndIndex = &expired
		}
		if tooNew < len(events) {
			out.RejectedLogEventsInfo.TooNewLogEventStartIndex = &tooNew
		}
	}
	accepted := events[min(max(tooOld, expired), tooNew):tooNew]
	if len(accepted) == 0 {
		return out, nil
	}
	if span := accepted[len(accepted)-1].Time - accepted[0].Time; span > maxBatchSpan.Milliseconds() {
		return nil, invalidParameter("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	}
	return out, a.store.Append(ctx, group, stream, accepted)
}

type getLogEventsInput struct {
	LogGroupName       *string `json:"logGroupName"`
	LogGroupIdentifier *string `json:"logGroupIdentifier"`
	LogStreamName      *string `json:"logStreamName"`
	StartTime          *int64  `json:"startTime"`
	EndTime            *int64  `json:"endTime"`
	NextToken          *string `json:"nextToken"`
	Limit              *int    `json:"limit"`
	StartFromHead      bool    `json:"startFromHead"`
}

type outputLogEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

type getLogEventsOutput struct {
	Events            []outputLogEvent `json:"events"`
	NextForwardToken  string           `json:"nextForwardToken"`
	NextBackwardToken string           `json:"nextBackwardToken"`
}

// timeRange checks startTime and endTime and returns them as the index's
// [start, end) bounds; endInclusive says endTime itself is in the range
// (FilterLogEvents) rather than out of it (GetLogEvents). empty is true
// when no event can be in the range.
func timeRange(startTime, endTime *int64, endInclusive bool) (start, end int64, empty bool, err error) {
	if startTime != nil {
		if *startTime < 0 {
			return 0, 0, false, validation("startTime", *startTime, "Member must have value greater than or equal to 0")
		}
		start = *startTime
	}
	if endTime != nil {
		if *endTime < 0 {
			return 0, 0, false, validation("endTime", *endTime, "Member must have value greater than or equal to 0")
		}
		end = *endTime
		if endInclusive && end < metadata.LogTail.Time {
			end++
		}
		if end <= start {
			return start, end, true, nil
		}
	}
	return start, end, false, nil
}

// getLogEvents is GetLogEvents: a page of one stream's events, from its
// head (startFromHead) or its tail, or from where a token says, in either
// direction. nextForwardToken and nextBackwardToken name the gaps after
// and before the page; a page that finds nothing returns the token it was
// given, which is how clients know they reached the end.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html
func (a *API) getLogEvents(ctx context.Context, in *getLogEventsInput) (*getLogEventsOutput, error) {
	group, err := a.groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	stream, err := required("logStreamName", in.LogStreamName)
	if err != nil {
		return nil, err
	}
	if err := checkStreamName("logStreamName", stream); err != nil {
		return nil, err
	}
	limit, err := checkLimit(in.Limit, maxPageEvents, maxPageEvents)
	if err != nil {
		return nil, err
	}
	start, end, empty, err := timeRange(in.StartTime, in.EndTime, false)
	if err != nil {
		return nil, err
	}
	if err := a.authorize(ctx, group, stream); err != nil {
		return nil, err
	}
	q := metadata.LogRead{Group: group, Stream: stream, Start: start, End: end, From: metadata.LogTail, Backward: true, Limit: limit, MaxBytes: maxPageBytes}
	if in.StartFromHead {
		q.From, q.Backward = metadata.LogHead, false
	}
	if in.NextToken != nil {
		forward, gap, err := a.tokens.decodeStream(group, stream, *in.NextToken)
		if err != nil {
			return nil, err
		}
		q.From, q.Backward = gap, !forward
	}
	var events []metadata.LogEvent
	if empty {
		// Nothing can match, but the group and stream must exist.
		q.Limit = 1
		q.Start, q.End = 0, 1
		if _, err := a.index.ReadLogEvents(ctx, q); err != nil {
			return nil, err
		}
	} else if events, err = a.index.ReadLogEvents(ctx, q); err != nil {
		return nil, err
	}
	out := &getLogEventsOutput{Events: make([]outputLogEvent, len(events))}
	for i, e := range events {
		out.Events[i] = outputLogEvent{Timestamp: e.Time, Message: e.Message, IngestionTime: e.Ingested}
	}
	after, before := metadata.LogHead, metadata.LogHead
	switch {
	case len(events) > 0:
		after, before = events[len(events)-1].Position, events[0].Position
		before.Seq-- // the gap just before the first event
	case in.NextToken != nil:
		after, before = q.From, q.From
	}
	out.NextForwardToken = a.tokens.encodeStream(group, stream, true, after)
	out.NextBackwardToken = a.tokens.encodeStream(group, stream, false, before)
	return out, nil
}

type filterLogEventsInput struct {
	LogGroupName        *string  `json:"logGroupName"`
	LogGroupIdentifier  *string  `json:"logGroupIdentifier"`
	LogStreamNames      []string `json:"logStreamNames"`
	LogStreamNamePrefix *string  `json:"logStreamNamePrefix"`
	StartTime           *int64   `json:"startTime"`
	EndTime             *int64   `json:"endTime"`
	FilterPattern       *string  `json:"filterPattern"`
	NextToken           *string  `json:"nextToken"`
	Limit               *int     `json:"limit"`
	// interleaved has been ignored by AWS since 2019: events from all
	// streams always come interleaved by time.
}

type filteredLogEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

type filterLogEventsOutput struct {
	Events             []filteredLogEvent `json:"events"`
	SearchedLogStreams []struct{}         `json:"searchedLogStreams"`
	NextToken          *string            `json:"nextToken,omitempty"`
}

// filterCursor is the position a FilterLogEvents page ended at.
type filterCursor struct {
	Time   int64 `json:"t"`
	Stream int64 `json:"s"`
	Seq    int64 `json:"q"`
}

// filterLogEvents is FilterLogEvents: a group's events matching a term
// pattern, across its streams (all, named, or by prefix) in time order.
// nextToken is returned while the search stopped at the page's limits.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html
func (a *API) filterLogEvents(ctx context.Context, in *filterLogEventsInput) (*filterLogEventsOutput, error) {
	group, err := a.groupName(in.LogGroupName, in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	q := metadata.LogFilter{Group: group, After: metadata.LogHead, MaxBytes: maxPageBytes}
	if q.Limit, err = checkLimit(in.Limit, maxPageEvents, maxPageEvents); err != nil {
		return nil, err
	}
	if in.LogStreamNames != nil {
		if in.LogStreamNamePrefix != nil {
			return nil, invalidParameter("logStreamNames and logStreamNamePrefix are mutually exclusive parameters.")
		}
		if n := len(in.LogStreamNames); n < 1 || n > 100 {
			return nil, validation("logStreamNames", n, "Member must have length between 1 and 100")
		}
		for _, s := range in.LogStreamNames {
			if err := checkStreamName("logStreamNames", s); err != nil {
				return nil, err
			}
		}
		q.Streams = in.LogStreamNames
	}
	if in.LogStreamNamePrefix != nil {
		if err := checkStreamName("logStreamNamePrefix", *in.LogStreamNamePrefix); err != nil {
			return nil, err
		}
		q.StreamPrefix = *in.LogStreamNamePrefix
	}
	pattern := ""
	if in.FilterPattern != nil {
		pattern = *in.FilterPattern
		if len(pattern) > maxPatternLen {
			return nil, validation("filterPattern", pattern, "Member must have length less than or equal to 1024")
		}
		if q.Match, err = ParsePattern(pattern); err != nil {
			return nil, err
		}
	}
	start, end, empty, err := timeRange(in.StartTime, in.EndTime, true)
	if err != nil {
		return nil, err
	}
	q.Start, q.End = start, end
	if err := a.authorize(ctx, group, ""); err != nil {
		return nil, err
	}
	binding := awsjson.Binding("FilterLogEvents", group, q.Streams, q.StreamPrefix, pattern, in.StartTime, in.EndTime)
	if in.NextToken != nil {
		var c filterCursor
		if err := a.tokens.decode(*in.NextToken, binding, &c); err != nil {
			return nil, err
		}
		q.After = metadata.LogPosition{Time: c.Time, Stream: c.Stream, Seq: c.Seq}
	}
	if empty {
		// Nothing can match, but the group must exist.
		q.Limit, q.Start, q.End = 1, 0, 1
	}
	events, more, err := a.index.FilterLogEvents(ctx, q)
	if err != nil {
		return nil, err
	}
	if empty {
		events, more = nil, false
	}
	out := &filterLogEventsOutput{Events: make([]filteredLogEvent, len(events)), SearchedLogStreams: []struct{}{}}
	for i, e := range events {
		out.Events[i] = filteredLogEvent{
			LogStreamName: e.Stream, Timestamp: e.Time, Message: e.Message, IngestionTime: e.Ingested,
			EventID: eventID(e.Position),
		}
	}
	if more {
		last := events[len(events)-1].Position
		if out.NextToken, err = a.tokens.encode(binding, filterCursor{last.Time, last.Stream, last.Seq}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// eventID is an event's eventId: 56 digits, as CloudWatch's are, made of
// its position, so it is unique in the group and the same on every read
// (`aws logs tail --follow` tells events it has seen by it).
func eventID(p metadata.LogPosition) string {
	return fmt.Sprintf("%020d%016d%020d", p.Time, p.Stream, p.Seq)
}
