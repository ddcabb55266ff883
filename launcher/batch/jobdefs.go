package batch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/berth-dev/berth/internal/arn"
	"github.com/berth-dev/berth/metadata"
)

// jobDefinition is one revision, as DescribeJobDefinitions shows it and
// the index keeps it.
type jobDefinition struct {
	Name                 string               `json:"jobDefinitionName"`
	ARN                  string               `json:"jobDefinitionArn"`
	Revision             int                  `json:"revision"`
	Status               string               `json:"status"`
	Type                 string               `json:"type"`
	Parameters           map[string]string    `json:"parameters,omitempty"`
	RetryStrategy        *RetryStrategy       `json:"retryStrategy,omitempty"`
	ContainerProperties  *ContainerProperties `json:"containerProperties,omitempty"`
	Timeout              *JobTimeout          `json:"timeout,omitempty"`
	Tags                 map[string]string    `json:"tags,omitempty"`
	PropagateTags        bool                 `json:"propagateTags"`
	PlatformCapabilities []string             `json:"platformCapabilities"`
	Orchestration        string               `json:"containerOrchestrationType"`
	SchedulingPriority   *int                 `json:"schedulingPriority,omitempty"`
}

type registerJobDefinitionInput struct {
	JobDefinitionName    string               `json:"jobDefinitionName"`
	Type                 string               `json:"type"`
	Parameters           map[string]string    `json:"parameters"`
	ContainerProperties  *ContainerProperties `json:"containerProperties"`
	NodeProperties       json.RawMessage      `json:"nodeProperties"`
	EksProperties        json.RawMessage      `json:"eksProperties"`
	RetryStrategy        *RetryStrategy       `json:"retryStrategy"`
	Timeout              *JobTimeout          `json:"timeout"`
	Tags                 map[string]string    `json:"tags"`
	PropagateTags        bool                 `json:"propagateTags"`
	PlatformCapabilities []string             `json:"platformCapabilities"`
	SchedulingPriority   *int                 `json:"schedulingPriority"`
}

type registerJobDefinitionOutput struct {
	JobDefinitionName string `json:"jobDefinitionName"`
	JobDefinitionArn  string `json:"jobDefinitionArn"`
	Revision          int    `json:"revision"`
}

// validRetry checks a retry strategy: 1–10 attempts, at most 5 exit
// conditions each with an action of RETRY or EXIT and patterns Batch
// accepts (exit codes are digits, optionally ending in *).
func validRetry(r *RetryStrategy) error {
	if r == nil {
		return nil
	}
	if r.Attempts < 1 || r.Attempts > 10 {
		return clientError("retryStrategy.attempts must be between 1 and 10.")
	}
	if len(r.EvaluateOnExit) > 5 {
		return clientError("retryStrategy.evaluateOnExit may hold at most 5 conditions.")
	}
	for _, e := range r.EvaluateOnExit {
		if a := strings.ToUpper(e.Action); a != "RETRY" && a != "EXIT" {
			return clientError("Invalid evaluateOnExit action %q: it must be RETRY or EXIT.", e.Action)
		}
		if code := strings.TrimSuffix(e.OnExitCode, "*"); code != "" {
			if _, err := strconv.Atoi(code); err != nil || strings.HasPrefix(code, "-") || len(e.OnExitCode) > 512 {
				return clientError("Invalid evaluateOnExit onExitCode %q: digits, optionally ending in *.", e.OnExitCode)
			}
		}
		if len(e.OnReason) > 512 || len(e.OnStatusReason) > 512 {
			return clientError("evaluateOnExit patterns are at most 512 characters.")
		}
	}
	return nil
}

// validTimeout checks a timeout against the shortest Batch allows.
func (a *API) validTimeout(t *JobTimeout) error {
	if t == nil {
		return nil
	}
	if min := int(a.cfg.MinAttemptDuration.Seconds()); t.AttemptDurationSeconds < min {
		return clientError("timeout.attemptDurationSeconds must be at least %d.", min)
	}
	return nil
}

// validEnv refuses environment variables Batch reserves.
func validEnv(env []KeyValuePair) error {
	for _, kv := range env {
		if strings.HasPrefix(kv.Name, "AWS_BATCH") {
			return clientError("Environment variable %s: names starting with AWS_BATCH are reserved.", kv.Name)
		}
		if kv.Name == "" || strings.ContainsAny(kv.Name, "=\x00") {
			return clientError("Invalid environment variable name %q.", kv.Name)
		}
	}
	return nil
}

func (a *API) registerJobDefinition(ctx context.Context, in *registerJobDefinitionInput) (*registerJobDefinitionOutput, error) {
	if err := a.authorize(ctx, "RegisterJobDefinition", a.definitionFamilyARN(in.JobDefinitionName)); err != nil {
		return nil, err
	}
	if !resourceName.MatchString(in.JobDefinitionName) {
		return nil, clientError("Invalid job definition name %q: up to 128 letters, numbers, hyphens and underscores.", in.JobDefinitionName)
	}
	switch in.Type {
	case "container":
	case "multinode":
		return nil, clientError("multinode job definitions are not supported: berth runs single-node container jobs on the local Docker host.")
	default:
		return nil, clientError("Invalid job definition type %q: it must be container or multinode.", in.Type)
	}
	if len(in.EksProperties) > 0 || len(in.NodeProperties) > 0 {
		return nil, clientError("eksProperties and nodeProperties are not supported: use containerProperties.")
	}
	c := in.ContainerProperties
	if c == nil || c.Image == "" {
		return nil, clientError("containerProperties.image is required for a container job definition.")
	}
	n, err := parseNeeds(c.ResourceRequirements, c.Vcpus, c.Memory)
	if err != nil {
		return nil, err
	}
	if n.milliCPU <= 0 || n.memoryMiB <= 0 {
		return nil, clientError("containerProperties must give VCPU and MEMORY resource requirements.")
	}
	if err := validEnv(c.Environment); err != nil {
		return nil, err
	}
	if err := validRetry(in.RetryStrategy); err != nil {
		return nil, err
	}
	if err := a.validTimeout(in.Timeout); err != nil {
		return nil, err
	}
	caps := in.PlatformCapabilities
	if len(caps) == 0 {
		caps = []string{"EC2"}
	}
	for _, p := range caps {
		if p != "EC2" && p != "FARGATE" {
			return nil, clientError("Invalid platform capability %q: it must be EC2 or FARGATE.", p)
		}
	}
	def := jobDefinition{Name: in.JobDefinitionName, Status: "ACTIVE", Type: in.Type, Parameters: in.Parameters,
		RetryStrategy: in.RetryStrategy, ContainerProperties: c, Timeout: in.Timeout, Tags: in.Tags,
		PropagateTags: in.PropagateTags, PlatformCapabilities: caps, Orchestration: "ECS", SchedulingPriority: in.SchedulingPriority}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.store.RegisterBatchJobDefinition(ctx, def.Name, func(rev int) ([]byte, error) {
		def.Revision = rev
		def.ARN = a.scope.JobDefinition(def.Name, rev).String()
		return json.Marshal(def)
	}); err != nil {
		return nil, serverError("register job definition", err)
	}
	a.defs[def.Name] = append(a.defs[def.Name], &def)
	return &registerJobDefinitionOutput{def.Name, def.ARN, def.Revision}, nil
}

// definition finds the revision ref names: name (its latest ACTIVE
// revision), name:revision or an ARN. Call with a.mu held.
func (a *API) definition(ref string) (*jobDefinition, error) {
	name, rev := ref, 0
	if p, err := arn.Parse(ref); err == nil {
		n, r, ok := p.Revision()
		if !ok || p.Service != arn.Batch {
			return nil, clientError("Job definition %s does not exist.", ref)
		}
		name, rev = n, r
	} else if n, r, ok := strings.Cut(ref, ":"); ok {
		v, err := strconv.Atoi(r)
		if err != nil || v < 1 {
			return nil, clientError("Job definition %s does not exist.", ref)
		}
		name, rev = n, v
	}
	revs := a.defs[name]
	for i := len(revs) - 1; i >= 0; i-- {
		d := revs[i]
		if (rev == 0 && d.Status == "ACTIVE") || d.Revision == rev {
			if rev != 0 && d.Status != "ACTIVE" {
				return nil, clientError("Job definition %s is INACTIVE.", ref)
			}
			return d, nil
		}
	}
	return nil, clientError("Job definition %s does not exist.", ref)
}

type describeJobDefinitionsInput struct {
	JobDefinitions    []string `json:"jobDefinitions"`
	JobDefinitionName string   `json:"jobDefinitionName"`
	Status            string   `json:"status"`
	MaxResults        *int     `json:"maxResults"`
	NextToken         string   `json:"nextToken"`
}

type describeJobDefinitionsOutput struct {
	JobDefinitions []*jobDefinition `json:"jobDefinitions"`
	NextToken      string           `json:"nextToken,omitempty"`
}

func (a *API) describeJobDefinitions(ctx context.Context, in *describeJobDefinitionsInput) (*describeJobDefinitionsOutput, error) {
	if err := a.authorize(ctx, "DescribeJobDefinitions", "*"); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var all []*jobDefinition
	if len(in.JobDefinitions) > 0 {
		for _, ref := range in.JobDefinitions {
			if d, err := a.definitionAnyStatus(ref); err == nil {
				all = append(all, d...)
			}
		}
	} else {
		names := make([]string, 0, len(a.defs))
		for n := range a.defs {
			if in.JobDefinitionName == "" || n == in.JobDefinitionName {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		for _, n := range names {
			all = append(all, a.defs[n]...)
		}
	}
	out := &describeJobDefinitionsOutput{JobDefinitions: []*jobDefinition{}}
	for _, d := range all {
		if in.Status == "" || d.Status == in.Status {
			out.JobDefinitions = append(out.JobDefinitions, d)
		}
	}
	page, next, err := paginate(out.JobDefinitions, in.MaxResults, in.NextToken, 1000)
	if err != nil {
		return nil, err
	}
	out.JobDefinitions, out.NextToken = page, next
	return out, nil
}

// definitionAnyStatus is what a DescribeJobDefinitions entry names: a
// revision (name:revision or ARN), or every revision of a name.
func (a *API) definitionAnyStatus(ref string) ([]*jobDefinition, error) {
	name, rev := ref, 0
	if p, err := arn.Parse(ref); err == nil {
		n, r, ok := p.Revision()
		if !ok {
			return nil, clientError("Job definition %s does not exist.", ref)
		}
		name, rev = n, r
	} else if n, r, ok := strings.Cut(ref, ":"); ok {
		v, err := strconv.Atoi(r)
		if err != nil {
			return nil, clientError("Job definition %s does not exist.", ref)
		}
		name, rev = n, v
	}
	if rev == 0 {
		return a.defs[name], nil
	}
	for _, d := range a.defs[name] {
		if d.Revision == rev {
			return []*jobDefinition{d}, nil
		}
	}
	return nil, clientError("Job definition %s does not exist.", ref)
}

type deregisterJobDefinitionInput struct {
	JobDefinition string `json:"jobDefinition"`
}

func (a *API) deregisterJobDefinition(ctx context.Context, in *deregisterJobDefinitionInput) (*struct{}, error) {
	if err := a.authorize(ctx, "DeregisterJobDefinition", a.definitionARN(in.JobDefinition)); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ds, err := a.definitionAnyStatus(in.JobDefinition)
	if err != nil || len(ds) != 1 {
		return nil, clientError("Job definition %s does not exist: name a revision (name:revision or its ARN).", in.JobDefinition)
	}
	d := ds[0]
	next := *d
	next.Status = "INACTIVE"
	doc, err := json.Marshal(&next)
	if err != nil {
		return nil, err
	}
	if err := a.store.PutBatchJobDefinition(ctx, metadata.BatchJobDefinition{Name: d.Name, Revision: d.Revision, Document: doc}); err != nil {
		return nil, serverError("deregister job definition", err)
	}
	*d = next
	return &struct{}{}, nil
}

// paginate returns the page of items after token (an offset Batch's
// clients pass back as nextToken) of at most maxResults (1 to limit;
// 100 when absent), and the token of the next page.
func paginate[T any](items []T, maxResults *int, token string, limit int) ([]T, string, error) {
	n, err := pageSize(maxResults, limit)
	if err != nil {
		return nil, "", err
	}
	start, err := pageStart(token, len(items))
	if err != nil {
		return nil, "", err
	}
	end := min(start+n, len(items))
	next := ""
	if end < len(items) {
		next = pageToken(end)
	}
	return items[start:end], next, nil
}

// pageSize is how many items a page of maxResults (1 to limit; 100
// when absent) holds.
func pageSize(maxResults *int, limit int) (int, error) {
	if maxResults == nil {
		return 100, nil
	}
	if *maxResults < 1 || *maxResults > limit {
		return 0, clientError("maxResults must be between 1 and %d.", limit)
	}
	return *maxResults, nil
}

// pageStart is the position (0 to end) a nextToken made by pageToken
// gives; 0 for none.
func pageStart(token string, end int) (int, error) {
	if token == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	v, aerr := strconv.Atoi(string(b))
	if err != nil || aerr != nil || v < 0 || v > end {
		return 0, clientError("Invalid nextToken.")
	}
	return v, nil
}

// pageToken is the nextToken of the page starting at position at.
func pageToken(at int) string { return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(at))) }

// definitionARN is the ARN a job definition reference names, for
// authorization: the revision's, or with no revision the name's
// (job-definition/<name>).
func (a *API) definitionARN(ref string) string {
	if p, err := arn.Parse(ref); err == nil {
		return p.String()
	}
	name, rev, _ := strings.Cut(ref, ":")
	if v, err := strconv.Atoi(rev); err == nil {
		return a.scope.JobDefinition(name, v).String()
	}
	return a.definitionFamilyARN(name)
}

// definitionFamilyARN is job-definition/<name>, all revisions of name.
func (a *API) definitionFamilyARN(name string) string {
	return arn.ARN{Partition: "aws", Service: arn.Batch, Region: a.cfg.Region, AccountID: a.cfg.AccountID,
		Resource: "job-definition/" + name}.String()
}
