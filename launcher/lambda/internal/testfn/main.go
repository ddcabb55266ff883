// Command testfn is the function the Lambda tests run, built static with
// github.com/aws/aws-lambda-go (-tags lambda.norpc) into a FROM scratch
// image whose entrypoint is /bootstrap. Its first argument, the
// function's ImageConfig.Command, says how it starts:
//
//	echo (the default)  handle events by their "action" member (below)
//	slowinit MS         sleep MS milliseconds before the first /next
//	initfail            report an init error (POST /runtime/init/error), exit 1
//	initexit            exit 2 before the first /next
//	url                 answer function URL events (payload format 2.0)
//
// An echo event's action: "" returns the event unchanged; "fail" returns
// an error; "sleep" sleeps "ms" milliseconds, ignoring its deadline;
// "exit" exits 3 mid-invoke; "env" returns the AWS_* and _HANDLER
// variables; "alloc" touches "mb" MiB before it answers; "big" answers
// "mb" MiB of JSON; "get" answers the body of a GET of "url" (a test's
// server on 127.0.0.1, which can hold invocations until several are in
// flight). Every invocation prints one line to stdout first.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

func main() {
	mode := "echo"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	fmt.Println("init", mode)
	switch mode {
	case "echo":
		lambda.Start(echo)
	case "slowinit":
		ms, _ := strconv.Atoi(os.Args[2])
		time.Sleep(time.Duration(ms) * time.Millisecond)
		lambda.Start(echo)
	case "initfail":
		body := `{"errorMessage":"init failed on purpose","errorType":"InitFailure"}`
		url := "http://" + os.Getenv("AWS_LAMBDA_RUNTIME_API") + "/2018-06-01/runtime/init/error"
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Lambda-Runtime-Function-Error-Type", "InitFailure")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
		} else {
			fmt.Println("init/error answered", resp.Status)
		}
		os.Exit(1)
	case "initexit":
		os.Exit(2)
	case "url":
		lambda.Start(url)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		os.Exit(2)
	}
}

type event struct {
	Action string `json:"action"`
	MS     int    `json:"ms"`
	MB     int    `json:"mb"`
	URL    string `json:"url"`
}

var kept [][]byte // what alloc touched, kept so the memory stays used

func echo(ctx context.Context, raw json.RawMessage) (any, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	var e event
	_ = json.Unmarshal(raw, &e) // a payload that is not an object is echoed
	fmt.Printf("handling %s action=%q\n", lc.AwsRequestID, e.Action)
	switch e.Action {
	case "fail":
		return nil, errors.New("asked to fail")
	case "sleep":
		time.Sleep(time.Duration(e.MS) * time.Millisecond)
		return map[string]string{"slept": strconv.Itoa(e.MS)}, nil
	case "exit":
		os.Exit(3)
	case "env":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "_") || k == "LAMBDA_TASK_ROOT" || k == "TZ" || k == "GREETING" {
				env[k] = v
			}
		}
		deadline, _ := ctx.Deadline()
		env["deadlineInMs"] = strconv.FormatInt(time.Until(deadline).Milliseconds(), 10)
		env["functionArn"] = lc.InvokedFunctionArn
		env["clientContext"] = fmt.Sprint(lc.ClientContext.Custom)
		return env, nil
	case "alloc":
		b := bytes.Repeat([]byte{1}, e.MB<<20)
		kept = append(kept, b)
		return map[string]int{"allocated": len(b)}, nil
	case "big":
		return strings.Repeat("x", e.MB<<20), nil
	case "get":
		resp, err := http.Get(e.URL)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return string(body), err
	}
	return raw, nil
}

// url answers a function URL request with what it saw: the status it is
// asked for in ?status=, a cookie, a header, and a JSON body describing the
// request.
func url(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	fmt.Println("url", req.RequestContext.HTTP.Method, req.RawPath)
	status := http.StatusOK
	if s := req.QueryStringParameters["status"]; s != "" {
		status, _ = strconv.Atoi(s)
	}
	body := req.Body
	if req.IsBase64Encoded {
		body = "base64:" + body
	}
	seen, _ := json.Marshal(map[string]any{
		"method":  req.RequestContext.HTTP.Method,
		"path":    req.RawPath,
		"query":   req.RawQueryString,
		"cookies": req.Cookies,
		"body":    body,
		"type":    req.Headers["content-type"],
		"version": req.Version,
	})
	return events.LambdaFunctionURLResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json", "X-Fn": "testfn"},
		Cookies:    []string{"session=abc; Path=/", "seen=" + strconv.Itoa(len(req.Cookies))},
		Body:       string(seen),
	}, nil
}
