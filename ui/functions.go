package ui

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/launcher/lambda"
	"github.com/berth-dev/berth/metadata"
)

// Pages of Lambda functions. Function names have no slashes (letters,
// digits, hyphens and underscores), so they are path segments. Every page
// and the invoke form are authorized with the lambda: action the Lambda
// API authorizes the same call with, on the same ARN.

const (
	functionsPerPage = 50
	// usageDays is the period the usage and cost figures cover.
	usageDays = 30
	// recentStreams and recentInvocations bound what the function page
	// reads of its log group for its recent invocations: the REPORT lines
	// of the streams written last.
	recentStreams     = 3
	recentInvocations = 10
	recentEvents      = 200
)

// functionRow is a function in the list, with its usage.
type functionRow struct {
	lambda.Function
	Usage lambda.Usage
	// CanDescribe: the person may open its page (lambda:GetFunction).
	CanDescribe bool
}

// functionsPage lists functions.
type functionsPage struct {
	Rows        []functionRow
	Days        int
	Next, First string
}

// functions lists the functions by name, as ListFunctions does, with
// their usage over the last usageDays days.
func (u *UI) functions(w http.ResponseWriter, rq *request) error {
	if err := rq.requireOn("lambda:ListFunctions", ""); err != nil {
		return err
	}
	after := rq.URL.Query().Get("after")
	fns, err := u.cfg.Functions.Functions(rq.Context(), after, functionsPerPage+1)
	if err != nil {
		return err
	}
	p := functionsPage{Days: usageDays}
	if len(fns) > functionsPerPage {
		fns = fns[:functionsPerPage]
		p.Next = "/ui/functions?" + url.Values{"after": {fns[len(fns)-1].FunctionName}}.Encode()
	}
	if after != "" {
		p.First = "/ui/functions"
	}
	from, to := u.usagePeriod()
	for _, f := range fns {
		row := functionRow{Function: f, CanDescribe: rq.allowed("lambda:GetFunction", u.functionARN(f.FunctionName, ""))}
		if row.CanDescribe {
			if row.Usage, err = u.cfg.Functions.Usage(rq.Context(), f.FunctionName, from, to); err != nil {
				return err
			}
		}
		p.Rows = append(p.Rows, row)
	}
	u.render(w, rq, http.StatusOK, "functions", "Functions", p)
	return nil
}

// usagePeriod is the last usageDays days, today included.
func (u *UI) usagePeriod() (from, to time.Time) {
	to = u.now()
	return to.AddDate(0, 0, -(usageDays - 1)), to
}

// functionPage is one function: its configuration, image, versions,
// aliases, URLs, usage, recent invocations and the invoke form.
type functionPage struct {
	Function lambda.Function
	// Image is its image's page in the registry; "" when the image is not
	// berth's (it always is, unless the index lost it).
	Image    string
	Days     int
	Usage    lambda.Usage
	Versions []lambda.Configuration
	Aliases  []lambda.AliasConfiguration
	// CanVersions, CanAliases and CanURLs show those sections
	// (lambda:ListVersionsByFunction, ListAliases, GetFunctionUrlConfig).
	CanVersions, CanAliases, CanURLs bool
	// LogGroup is where the function logs; CanLogs: the person may list
	// its streams (logs:DescribeLogStreams).
	LogGroup string
	CanLogs  bool
	// Recent are its latest invocations, as their REPORT lines say, and
	// Streams the streams they were read from.
	Recent  []invocationRow
	Streams []streamRow
	// CanInvoke shows the invoke form (lambda:InvokeFunction); Qualifiers
	// are what it may invoke; Payload and Qualifier what was sent.
	CanInvoke  bool
	Qualifiers []string
	Payload    string
	Qualifier  string
	// Result is the invocation the form ran, nil before.
	Result *invocationResult
	Error  string
	// Async: the form queued an Event invocation, Queued its request id.
	Async  bool
	Queued string
	// CanConfigure shows the configuration form
	// (lambda:UpdateFunctionConfiguration); Config is what it holds.
	CanConfigure bool
	Config       configForm
	Notice       string
}

// configForm is the configuration form's fields, as sent or as the
// function has them.
type configForm struct {
	Memory, Timeout, Environment string
	Error                        string
}

// invocationResult is what the invoke form shows of an invocation.
type invocationResult struct {
	RequestID, Version string
	// Payload is the response (or error document), indented when it is
	// JSON; ErrorType the function's error, "" when it succeeded.
	Payload   string
	ErrorType string
	LogTail   string
	Report    invocationRow
}

// function shows a function as GetFunction describes it, with what the
// UI adds.
func (u *UI) function(w http.ResponseWriter, rq *request) error {
	return u.renderFunction(w, rq, http.StatusOK, functionForm{})
}

// functionForm is what the invoke or the configuration form sent and
// what came of it.
type functionForm struct {
	payload, qualifier string
	async              bool
	queued             string
	result             *invocationResult
	err                string
	config             *configForm
}

func (u *UI) renderFunction(w http.ResponseWriter, rq *request, status int, form functionForm) error {
	name := rq.PathValue("function")
	fnARN := u.functionARN(name, "")
	if err := rq.requireOn("lambda:GetFunction", fnARN); err != nil {
		return err
	}
	ctx := rq.Context()
	f, err := u.cfg.Functions.Function(ctx, name)
	if err != nil {
		return err
	}
	p := functionPage{Function: f, Days: usageDays, LogGroup: lambda.LogGroup(name),
		CanVersions: rq.allowed("lambda:ListVersionsByFunction", fnARN),
		CanAliases:  rq.allowed("lambda:ListAliases", fnARN),
		CanURLs:     rq.allowed("lambda:GetFunctionUrlConfig", fnARN),
		CanInvoke:   rq.allowed("lambda:InvokeFunction", fnARN),
		Payload:     cmp.Or(form.payload, "{}"), Qualifier: form.qualifier, Result: form.result, Error: form.err,
		Async: form.async, Queued: form.queued,
		CanConfigure: rq.allowed("lambda:UpdateFunctionConfiguration", fnARN),
		Notice:       functionNotices[rq.URL.Query().Get("done")],
	}
	if form.config != nil {
		p.Config = *form.config
	} else {
		p.Config = configForm{Memory: strconv.Itoa(f.MemorySize), Timeout: strconv.Itoa(f.Timeout)}
		if f.Environment != nil {
			p.Config.Environment = formatEnvironment(f.Environment.Variables)
		}
	}
	if f.Repository != "" && f.Digest != "" {
		p.Image = imageURL(f.Repository, digest.Digest(f.Digest))
	}
	from, to := u.usagePeriod()
	if p.Usage, err = u.cfg.Functions.Usage(ctx, name, from, to); err != nil {
		return err
	}
	if p.CanVersions {
		if p.Versions, err = u.cfg.Functions.Versions(ctx, name); err != nil {
			return err
		}
		slices.Reverse(p.Versions) // newest first
	}
	if p.CanAliases {
		if p.Aliases, err = u.cfg.Functions.Aliases(ctx, name); err != nil {
			return err
		}
	}
	p.Qualifiers = []string{"$LATEST"}
	for _, v := range p.Versions {
		p.Qualifiers = append(p.Qualifiers, v.Version)
	}
	for _, a := range p.Aliases {
		p.Qualifiers = append(p.Qualifiers, a.Name)
	}
	if p.CanLogs = rq.allowed("logs:DescribeLogStreams", u.logARN(p.LogGroup, "")); p.CanLogs {
		if err := u.recentInvocations(rq, &p); err != nil {
			return err
		}
	}
	u.render(w, rq, status, "function", "Function "+name, p)
	return nil
}

// recentInvocations reads the REPORT lines of the streams the function
// wrote last, newest first, from the streams the person may read.
func (u *UI) recentInvocations(rq *request, p *functionPage) error {
	streams, err := u.store.LogStreams(rq.Context(), metadata.LogStreamQuery{Group: p.LogGroup, ByLastEventTime: true, Descending: true, Limit: recentStreams})
	if errors.Is(err, metadata.ErrLogGroupUnknown) {
		return nil // it never ran: Lambda creates the group on the first invocation
	}
	if err != nil {
		return err
	}
	for _, s := range streams {
		row := streamRow{LogStream: s, CanRead: rq.allowed("logs:GetLogEvents", u.logARN(p.LogGroup, s.Name))}
		p.Streams = append(p.Streams, row)
		if !row.CanRead {
			continue
		}
		events, err := u.store.ReadLogEvents(rq.Context(), metadata.LogRead{Group: p.LogGroup, Stream: s.Name,
			From: metadata.LogTail, Backward: true, Limit: recentEvents, MaxBytes: logPageBytes})
		if err != nil {
			return err
		}
		for _, e := range events {
			if r, ok := parseReport(e.Message); ok {
				r.Time, r.Stream = e.Time, s.Name
				p.Recent = append(p.Recent, r)
			}
		}
	}
	slices.SortStableFunc(p.Recent, func(a, b invocationRow) int { return cmp.Compare(b.Time, a.Time) })
	if len(p.Recent) > recentInvocations {
		p.Recent = p.Recent[:recentInvocations]
	}
	return nil
}

// invokeFunction runs the function with the form's payload, as Invoke
// with RequestResponse and LogType Tail does, and shows the result on the
// function's page.
func (u *UI) invokeFunction(w http.ResponseWriter, rq *request) error {
	name := rq.PathValue("function")
	form := functionForm{payload: rq.PostForm.Get("payload"), qualifier: strings.TrimSpace(rq.PostForm.Get("qualifier"))}
	if form.qualifier == "$LATEST" {
		form.qualifier = ""
	}
	if err := rq.requireOn("lambda:InvokeFunction", u.functionARN(name, form.qualifier)); err != nil {
		return err
	}
	payload := strings.TrimSpace(form.payload)
	if payload != "" && !json.Valid([]byte(payload)) {
		form.err = "The payload is not JSON. Send a JSON document, {} for an empty event."
		return u.renderFunction(w, rq, http.StatusBadRequest, form)
	}
	// Lambda's refusals (not Active yet, no such version or alias, over a
	// concurrency limit) are said beside the form, which keeps the event.
	refused := func(err error) (int, bool) {
		var ae *awserr.Error
		if errors.As(err, &ae) && ae.HTTPStatus() < http.StatusInternalServerError {
			form.err = ae.Message
			return ae.HTTPStatus(), true
		}
		return 0, false
	}
	if form.async = rq.PostForm.Get("type") == "Event"; form.async {
		id, err := u.cfg.Functions.InvokeAsync(rq.Context(), name, form.qualifier, []byte(payload))
		if status, ok := refused(err); ok {
			return u.renderFunction(w, rq, status, form)
		}
		if err != nil {
			return err
		}
		u.log.InfoContext(rq.Context(), "ui: queued an invocation", "function", name, "request", id, "user", rq.principal.User)
		form.queued = id
		return u.renderFunction(w, rq, http.StatusAccepted, form)
	}
	inv, err := u.cfg.Functions.Invoke(rq.Context(), name, form.qualifier, []byte(payload))
	if status, ok := refused(err); ok {
		return u.renderFunction(w, rq, status, form)
	}
	if err != nil {
		return err
	}
	u.log.InfoContext(rq.Context(), "ui: invoked a function", "function", name, "version", inv.ExecutedVersion,
		"request", inv.RequestID, "user", rq.principal.User, "error", inv.ErrorType)
	form.result = &invocationResult{RequestID: inv.RequestID, Version: inv.ExecutedVersion,
		Payload: indentJSON(inv.Payload), ErrorType: inv.ErrorType, LogTail: string(inv.LogTail)}
	for _, line := range strings.Split(form.result.LogTail, "\n") {
		if r, ok := parseReport(line); ok {
			form.result.Report = r
		}
	}
	return u.renderFunction(w, rq, http.StatusOK, form)
}

// indentJSON indents a JSON document for reading; anything else is
// returned as it is.
func indentJSON(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

// invocationRow is an invocation as its REPORT line tells it.
type invocationRow struct {
	RequestID                           string
	Duration, Billed, Memory, MaxMemory string
	Init, Status, ErrorType             string
	// Time and Stream say where the line was read (0 and "" in the invoke
	// form's result).
	Time   int64
	Stream string
}

// parseReport reads a REPORT line as Lambda writes it: "REPORT
// RequestId: <id>" and tab-separated "Name: value" fields. The line comes
// from a log a function may write to, so anything else is no report.
func parseReport(line string) (invocationRow, bool) {
	rest, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "REPORT RequestId: ")
	if !ok {
		return invocationRow{}, false
	}
	fields := strings.Split(rest, "\t")
	r := invocationRow{RequestID: fields[0]}
	if r.RequestID == "" {
		return invocationRow{}, false
	}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, ": ")
		if !ok {
			continue
		}
		switch k {
		case "Duration":
			r.Duration = v
		case "Billed Duration":
			r.Billed = v
		case "Memory Size":
			r.Memory = v
		case "Max Memory Used":
			r.MaxMemory = v
		case "Init Duration":
			r.Init = v
		case "Status":
			r.Status = v
		case "Error Type":
			r.ErrorType = v
		}
	}
	return r, r.Duration != ""
}

// functionARN is the ARN the Lambda API authorizes its actions on.
func (u *UI) functionARN(name, qualifier string) string {
	return u.cfg.Scope.Function(name, qualifier).String()
}

// functionNotices are the messages the function page shows after a form
// sent the browser there (?done=...).
var functionNotices = map[string]string{
	"configured": "Configuration saved. Environments started from now on run with it.",
}

// configureFunction changes the function's memory, timeout and
// environment as UpdateFunctionConfiguration does.
func (u *UI) configureFunction(w http.ResponseWriter, rq *request) error {
	name := rq.PathValue("function")
	if err := rq.requireOn("lambda:UpdateFunctionConfiguration", u.functionARN(name, "")); err != nil {
		return err
	}
	c := configForm{Memory: strings.TrimSpace(rq.PostForm.Get("memory")), Timeout: strings.TrimSpace(rq.PostForm.Get("timeout")),
		Environment: rq.PostForm.Get("environment")}
	refuse := func(format string, args ...any) error {
		c.Error = fmt.Sprintf(format, args...)
		return u.renderFunction(w, rq, http.StatusBadRequest, functionForm{config: &c})
	}
	memory, err := strconv.Atoi(c.Memory)
	if err != nil {
		return refuse("Memory is a whole number of MB, from 128 to 10240.")
	}
	timeout, err := strconv.Atoi(c.Timeout)
	if err != nil {
		return refuse("The timeout is a whole number of seconds, from 1 to 900.")
	}
	env, err := parseEnvironment(c.Environment)
	if err != nil {
		return refuse("%s", err.Error())
	}
	_, err = u.cfg.Functions.UpdateConfiguration(rq.Context(), name, lambda.Settings{MemorySize: memory, Timeout: timeout, Environment: env,
		RevisionID: rq.PostForm.Get("revision")})
	var ae *awserr.Error
	if errors.As(err, &ae) && ae.HTTPStatus() < http.StatusInternalServerError && ae.HTTPStatus() != http.StatusNotFound {
		c.Error = ae.Message
		return u.renderFunction(w, rq, ae.HTTPStatus(), functionForm{config: &c})
	}
	if err != nil {
		return err
	}
	u.log.InfoContext(rq.Context(), "ui: configured a function", "function", name, "user", rq.principal.User, "memory", memory, "timeout", timeout)
	http.Redirect(w, rq.Request, functionsHref+"/"+url.PathEscape(name)+"?done=configured", http.StatusSeeOther)
	return nil
}

// formatEnvironment writes variables one NAME=value a line, by name.
func formatEnvironment(vars map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		b.WriteString(k + "=" + vars[k] + "\n")
	}
	return b.String()
}

// parseEnvironment reads NAME=value lines; blank lines are skipped.
// Lambda checks the names and sizes.
func parseEnvironment(text string) (map[string]string, error) {
	vars := map[string]string{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("Line %d of the environment is not NAME=value.", i+1)
		}
		vars[strings.TrimSpace(k)] = v
	}
	return vars, nil
}
