package ecs

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/metadata"
)

type registerTaskDefinitionInput struct {
	TaskDefinition
	Tags []Tag `json:"tags"`
}

type taskDefinitionOutput struct {
	TaskDefinition TaskDefinition `json:"taskDefinition"`
	Tags           []Tag          `json:"tags,omitempty"`
}

// registerTaskDefinition validates a task definition as ECS does and
// stores it as its family's next revision.
func (a *API) registerTaskDefinition(ctx context.Context, in *registerTaskDefinitionInput) (*taskDefinitionOutput, error) {
	if err := a.access.AuthorizeAction(ctx, "ecs:RegisterTaskDefinition", "*"); err != nil {
		return nil, err
	}
	td, err := a.RegisterTaskDefinition(ctx, in.TaskDefinition, in.Tags)
	if err != nil {
		return nil, err
	}
	out := &taskDefinitionOutput{TaskDefinition: td}
	if len(in.Tags) > 0 {
		out.Tags = tagList(tagMap(in.Tags))
	}
	return out, nil
}

// RegisterTaskDefinition registers td, with tags, as its family's next
// revision for the caller in ctx, as the RegisterTaskDefinition call does
// once authorized: validated and normalised as ECS does it (a
// ClientException for what ECS refuses). It returns the revision.
func (a *API) RegisterTaskDefinition(ctx context.Context, td TaskDefinition, tags []Tag) (TaskDefinition, error) {
	// What ECS assigns is not the caller's to set.
	td.TaskDefinitionArn, td.Revision, td.Status, td.Compatibilities = "", 0, "", nil
	td.RegisteredAt, td.DeregisteredAt = awsjson.Time{}, awsjson.Time{}
	td.RegisteredBy = a.access.Caller(ctx).ARN
	if err := td.normalise(); err != nil {
		return TaskDefinition{}, err
	}
	if err := checkTags(tags); err != nil {
		return TaskDefinition{}, err
	}
	doc, err := json.Marshal(td)
	if err != nil {
		return TaskDefinition{}, serverError("RegisterTaskDefinition", err)
	}
	stored, err := a.store.RegisterTaskDefinition(ctx, metadata.TaskDefinition{
		Family: td.Family, RegisteredAt: a.cfg.Now(), Document: doc, Tags: tagMap(tags)})
	if err != nil {
		return TaskDefinition{}, serverError("RegisterTaskDefinition", err)
	}
	out, err := a.wireTaskDefinition(stored)
	if err != nil {
		return TaskDefinition{}, serverError("RegisterTaskDefinition", err)
	}
	return out, nil
}

// TaskDefinition returns the revision ref names: family:revision, an
// ARN, or a family (its latest ACTIVE revision). ECS's ClientException
// when there is none.
func (a *API) TaskDefinition(ctx context.Context, ref string) (TaskDefinition, error) {
	stored, ok, err := a.taskDefinition(ctx, ref)
	if err != nil {
		return TaskDefinition{}, serverError("TaskDefinition", err)
	}
	if !ok {
		return TaskDefinition{}, clientError("Unable to describe task definition.")
	}
	td, err := a.wireTaskDefinition(stored)
	if err != nil {
		return TaskDefinition{}, serverError("TaskDefinition", err)
	}
	return td, nil
}

// wireTaskDefinition is a stored revision as ECS answers with it.
func (a *API) wireTaskDefinition(s metadata.TaskDefinition) (TaskDefinition, error) {
	var td TaskDefinition
	if err := json.Unmarshal(s.Document, &td); err != nil {
		return td, err
	}
	td.Family, td.Revision, td.Status = s.Family, s.Revision, s.Status
	td.TaskDefinitionArn = a.arns.taskDefinition(s.Family, s.Revision)
	td.RegisteredAt = awsjson.NewTime(s.RegisteredAt)
	if !s.DeregisteredAt.IsZero() {
		td.DeregisteredAt = awsjson.NewTime(s.DeregisteredAt)
	}
	return td, nil
}

// taskDefinition reads the revision a taskDefinition member names
// (family, family:revision or ARN; the latest ACTIVE revision of a
// family). ok is false when there is none.
func (a *API) taskDefinition(ctx context.Context, ref string) (metadata.TaskDefinition, bool, error) {
	family, revision, ok := a.arns.taskDefinitionRef(ref)
	if !ok {
		return metadata.TaskDefinition{}, false, nil
	}
	td, err := a.store.TaskDefinition(ctx, family, revision)
	if errors.Is(err, metadata.ErrTaskDefinitionUnknown) {
		return td, false, nil
	}
	return td, err == nil, err
}

type describeTaskDefinitionInput struct {
	TaskDefinition string   `json:"taskDefinition"`
	Include        []string `json:"include"`
}

func (a *API) describeTaskDefinition(ctx context.Context, in *describeTaskDefinitionInput) (*taskDefinitionOutput, error) {
	if err := a.access.AuthorizeAction(ctx, "ecs:DescribeTaskDefinition", "*"); err != nil {
		return nil, err
	}
	if in.TaskDefinition == "" {
		return nil, clientError("TaskDefinition cannot be empty.")
	}
	stored, ok, err := a.taskDefinition(ctx, in.TaskDefinition)
	if err != nil {
		return nil, serverError("DescribeTaskDefinition", err)
	}
	if !ok {
		return nil, clientError("Unable to describe task definition.")
	}
	td, err := a.wireTaskDefinition(stored)
	if err != nil {
		return nil, serverError("DescribeTaskDefinition", err)
	}
	out := &taskDefinitionOutput{TaskDefinition: td}
	if slices.Contains(in.Include, "TAGS") {
		out.Tags = tagList(stored.Tags)
	}
	return out, nil
}

type listTaskDefinitionsInput struct {
	FamilyPrefix string  `json:"familyPrefix"`
	Status       string  `json:"status"`
	Sort         string  `json:"sort"`
	MaxResults   *int    `json:"maxResults"`
	NextToken    *string `json:"nextToken"`
}

type listTaskDefinitionsOutput struct {
	TaskDefinitionArns []string `json:"taskDefinitionArns"`
	NextToken          *string  `json:"nextToken,omitempty"`
}

// taskDefinitionCursor is where a page of ListTaskDefinitions ended.
type taskDefinitionCursor struct {
	Family   string `json:"f"`
	Revision int    `json:"r"`
}

// listTaskDefinitions lists revisions by family and revision; familyPrefix
// is, despite its name, a whole family, as on ECS.
func (a *API) listTaskDefinitions(ctx context.Context, in *listTaskDefinitionsInput) (*listTaskDefinitionsOutput, error) {
	if err := a.access.AuthorizeAction(ctx, "ecs:ListTaskDefinitions", "*"); err != nil {
		return nil, err
	}
	n, err := maxResults(in.MaxResults, 100, 100)
	if err != nil {
		return nil, err
	}
	status := in.Status
	switch status {
	case "":
		status = "ACTIVE"
	case "ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS":
	default:
		return nil, invalidParameter("Invalid status %q: it must be ACTIVE, INACTIVE or DELETE_IN_PROGRESS.", in.Status)
	}
	switch in.Sort {
	case "", "ASC", "DESC":
	default:
		return nil, invalidParameter("Invalid sort %q: it must be ASC or DESC.", in.Sort)
	}
	q := metadata.TaskDefinitionQuery{Family: in.FamilyPrefix, Status: status, Descending: in.Sort == "DESC", Limit: n + 1}
	binding := awsjson.Binding("ListTaskDefinitions", in.FamilyPrefix, status, in.Sort)
	if in.NextToken != nil {
		var c taskDefinitionCursor
		if err := a.tokens.Decode(*in.NextToken, binding, &c); err != nil {
			return nil, err
		}
		q.AfterFamily, q.AfterRevision = c.Family, c.Revision
	}
	page, err := a.store.TaskDefinitions(ctx, q)
	if err != nil {
		return nil, serverError("ListTaskDefinitions", err)
	}
	out := &listTaskDefinitionsOutput{TaskDefinitionArns: []string{}}
	for i, td := range page {
		if i == n {
			last := page[n-1]
			token, err := a.tokens.Encode(binding, taskDefinitionCursor{last.Family, last.Revision})
			if err != nil {
				return nil, err
			}
			out.NextToken = &token
			break
		}
		out.TaskDefinitionArns = append(out.TaskDefinitionArns, a.arns.taskDefinition(td.Family, td.Revision))
	}
	return out, nil
}

type deregisterTaskDefinitionInput struct {
	TaskDefinition string `json:"taskDefinition"`
}

// deregisterTaskDefinition makes one revision INACTIVE: it stays
// describable, and tasks already running keep running.
func (a *API) deregisterTaskDefinition(ctx context.Context, in *deregisterTaskDefinitionInput) (*taskDefinitionOutput, error) {
	if err := a.access.AuthorizeAction(ctx, "ecs:DeregisterTaskDefinition", "*"); err != nil {
		return nil, err
	}
	family, revision, ok := a.arns.taskDefinitionRef(in.TaskDefinition)
	if !ok {
		return nil, clientError("Invalid revision number. Number: %s", in.TaskDefinition)
	}
	if revision == 0 {
		return nil, clientError("Revision must be specified: deregister a task definition as family:revision.")
	}
	stored, err := a.store.DeregisterTaskDefinition(ctx, family, revision, a.cfg.Now())
	if errors.Is(err, metadata.ErrTaskDefinitionUnknown) {
		return nil, clientError("The specified task definition does not exist.")
	}
	if err != nil {
		return nil, serverError("DeregisterTaskDefinition", err)
	}
	td, err := a.wireTaskDefinition(stored)
	if err != nil {
		return nil, serverError("DeregisterTaskDefinition", err)
	}
	return &taskDefinitionOutput{TaskDefinition: td}, nil
}

// checkTags validates tags as ECS does.
func checkTags(tags []Tag) error {
	if len(tags) > 50 {
		return invalidParameter("A resource may have at most 50 tags.")
	}
	for _, t := range tags {
		if len(t.Key) < 1 || len(t.Key) > 128 || len(t.Value) > 256 {
			return invalidParameter("Tag keys must be 1 to 128 characters and tag values at most 256.")
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return invalidParameter("Tag keys beginning with 'aws:' are reserved.")
		}
	}
	return nil
}

// tagMap and tagList convert between the wire's list and the index's map.
func tagMap(tags []Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func tagList(m map[string]string) []Tag {
	var tags []Tag
	for _, k := range slices.Sorted(maps.Keys(m)) {
		tags = append(tags, Tag{Key: k, Value: m[k]})
	}
	return tags
}
