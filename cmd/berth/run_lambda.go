package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// functionWait bounds how long berth run waits for a function to become
// Active after it was created or updated (its image is pulled).
const functionWait = 5 * time.Minute

// checkFunction checks the flags of a Lambda function and reads
// --payload.
func checkFunction(l *launch) error {
	if len(l.ports) > 0 || l.cpu != "" || l.count != 1 || l.stopTimeout != 0 {
		return errors.New("-p, --cpu, --count and --stop-timeout are for ECS tasks, not --as lambda")
	}
	switch {
	case l.payload == "" && l.url:
	case l.payload == "":
		l.payload = "{}"
	case strings.HasPrefix(l.payload, "@"):
		b, err := os.ReadFile(l.payload[1:])
		if err != nil {
			return fmt.Errorf("--payload: %w", err)
		}
		l.payload = string(b)
	}
	if l.payload != "" && !json.Valid([]byte(l.payload)) {
		return fmt.Errorf("--payload: not JSON: %.60q", l.payload)
	}
	if l.memory != "" {
		if _, err := l.memoryMB(); err != nil {
			return err
		}
	}
	return nil
}

// memoryMB is --memory as Lambda's MemorySize: 128 to 10240 MB.
func (l *launch) memoryMB() (int32, error) {
	var mb int32
	if _, err := fmt.Sscan(strings.TrimSuffix(strings.ToUpper(l.memory), "MB"), &mb); err != nil || mb < 128 || mb > 10240 {
		return 0, fmt.Errorf("--memory %q: a function's memory is 128 to 10240 MB", l.memory)
	}
	return mb, nil
}

// runFunction runs the image as a Lambda function: creates it, or
// updates its code and configuration, waits until it is Active, then
// gives it a URL (--url) and invokes it with --payload.
func runFunction(r *remote, l *launch) error {
	api := lambda.NewFromConfig(r.client.AWSConfig())
	ctx := r.ctx()
	if err := deployFunction(ctx, api, l); err != nil {
		return fmt.Errorf("function %s: %w", l.name, r.client.Explain(err))
	}
	if l.url {
		u, err := functionURL(ctx, api, l.name)
		if err != nil {
			return err
		}
		if l.payload == "" {
			return r.out.Print(lambdaShape(u), func() error { r.out.Linef("%s", aws.ToString(u.FunctionUrl)); return nil })
		}
		fmt.Fprintf(r.cmd.ErrOrStderr(), "URL: %s\n", aws.ToString(u.FunctionUrl))
	}
	in := &lambda.InvokeInput{FunctionName: aws.String(l.name), Payload: []byte(l.payload), LogType: types.LogTypeTail}
	if l.detach {
		in.InvocationType, in.LogType = types.InvocationTypeEvent, types.LogTypeNone
	}
	out, err := api.Invoke(ctx, in)
	if err != nil {
		return fmt.Errorf("function %s: %w", l.name, r.client.Explain(err))
	}
	tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	doc := invocation{StatusCode: out.StatusCode, FunctionError: out.FunctionError, ExecutedVersion: out.ExecutedVersion,
		LogResult: out.LogResult, Payload: payloadValue(out.Payload)}
	err = r.out.Print(lambdaShape(doc), func() error {
		if l.detach {
			r.out.Linef("queued an invocation of %s (status %d)", l.name, out.StatusCode)
			return nil
		}
		r.out.Linef("%s", strings.TrimRight(string(out.Payload), "\n"))
		return nil
	})
	if err != nil {
		return err
	}
	if len(tail) > 0 {
		fmt.Fprint(r.cmd.ErrOrStderr(), strings.TrimRight(string(tail), "\n")+"\n")
	}
	if out.FunctionError != nil {
		return fmt.Errorf("%s: the function failed (%s)", l.name, aws.ToString(out.FunctionError))
	}
	return nil
}

// invocation is what -o json prints of an Invoke: the members `aws
// lambda invoke` prints (LogResult in base64, as the API sends it), and
// the payload, which the aws CLI writes to a file, as the JSON it is.
type invocation struct {
	StatusCode      int32
	FunctionError   *string
	ExecutedVersion *string
	LogResult       *string
	Payload         any
}

// lambdaShape is v as Lambda's REST API and the aws CLI write it: the
// SDK's member names as they are (FunctionName, StatusCode), absent
// members left out. ([output.Shape] writes the lowerCamel names of the
// JSON protocols, which Lambda does not use.)
func lambdaShape(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var doc any
	json.Unmarshal(b, &doc)
	return withoutNulls(doc)
}

// withoutNulls drops the null members of a decoded JSON document.
func withoutNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
			} else {
				v[k] = withoutNulls(e)
			}
		}
	case []any:
		for i, e := range v {
			v[i] = withoutNulls(e)
		}
	}
	return v
}

// payloadValue is a function's answer as JSON when it is, else as text.
func payloadValue(b []byte) any {
	var v any
	if json.Unmarshal(b, &v) == nil {
		return v
	}
	return string(b)
}

// deployFunction creates the function of the launch, or updates an
// existing one's image and configuration, and waits until it can be
// invoked.
func deployFunction(ctx context.Context, api *lambda.Client, l *launch) error {
	var env *types.Environment
	if len(l.env) > 0 {
		env = &types.Environment{Variables: l.env}
	}
	var memory *int32
	if l.memory != "" {
		mb, _ := l.memoryMB()
		memory = aws.Int32(mb)
	}
	imageConfig := &types.ImageConfig{Command: l.args}
	current, err := api.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(l.name)})
	var absent *types.ResourceNotFoundException
	switch {
	case errors.As(err, &absent):
		_, err = api.CreateFunction(ctx, &lambda.CreateFunctionInput{
			FunctionName: aws.String(l.name),
			PackageType:  types.PackageTypeImage,
			Code:         &types.FunctionCode{ImageUri: aws.String(l.image.String())},
			Role:         aws.String("arn:aws:iam::" + l.account + ":role/berth-run"),
			Environment:  env,
			MemorySize:   memory,
			ImageConfig:  imageConfig,
		})
		if err != nil {
			return err
		}
		return waitForFunction(ctx, api, l.name)
	case err != nil:
		return err
	}
	// An update only for what changed: the image the tag names now, the
	// environment, memory and command the flags give.
	if current.Code == nil || !strings.HasSuffix(aws.ToString(current.Code.ResolvedImageUri), "@"+l.digest) {
		if _, err := api.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(l.name), ImageUri: aws.String(l.image.String())}); err != nil {
			return err
		}
	}
	if err := waitForFunction(ctx, api, l.name); err != nil {
		return err
	}
	if env == nil {
		env = &types.Environment{Variables: map[string]string{}}
	}
	if !sameConfiguration(current.Configuration, env.Variables, memory, l.args) {
		if _, err := api.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
			FunctionName: aws.String(l.name), Environment: env, MemorySize: memory, ImageConfig: imageConfig,
		}); err != nil {
			return err
		}
	}
	return waitForFunction(ctx, api, l.name)
}

// sameConfiguration reports whether the function already has the
// environment, memory (nil: any) and command berth run would give it.
func sameConfiguration(c *types.FunctionConfiguration, env map[string]string, memory *int32, command []string) bool {
	if c == nil {
		return false
	}
	var has map[string]string
	if c.Environment != nil {
		has = c.Environment.Variables
	}
	var cmd []string
	if r := c.ImageConfigResponse; r != nil && r.ImageConfig != nil {
		cmd = r.ImageConfig.Command
	}
	return maps.Equal(has, env) && (memory == nil || aws.ToInt32(c.MemorySize) == *memory) && slices.Equal(cmd, command)
}

// waitForFunction waits until the function is Active and its last update
// succeeded, and says why when it failed.
func waitForFunction(ctx context.Context, api *lambda.Client, name string) error {
	ctx, cancel := context.WithTimeout(ctx, functionWait)
	defer cancel()
	for {
		out, err := api.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)})
		if err != nil {
			return err
		}
		c := out.Configuration
		switch {
		case c.State == types.StateFailed:
			return fmt.Errorf("function %s failed to become Active: %s: %s", name, c.StateReasonCode, aws.ToString(c.StateReason))
		case c.LastUpdateStatus == types.LastUpdateStatusFailed:
			return fmt.Errorf("function %s's update failed: %s: %s", name, c.LastUpdateStatusReasonCode, aws.ToString(c.LastUpdateStatusReason))
		case c.State == types.StateActive && slices.Contains([]types.LastUpdateStatus{"", types.LastUpdateStatusSuccessful}, c.LastUpdateStatus):
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("function %s is still %s after %s", name, c.State, functionWait)
		case <-time.After(followInterval):
		}
	}
}

// functionURL returns the function's URL configuration, creating one
// that anyone may call (AuthType NONE) when it has none.
func functionURL(ctx context.Context, api *lambda.Client, name string) (*lambda.GetFunctionUrlConfigOutput, error) {
	got, err := api.GetFunctionUrlConfig(ctx, &lambda.GetFunctionUrlConfigInput{FunctionName: aws.String(name)})
	var absent *types.ResourceNotFoundException
	if !errors.As(err, &absent) {
		return got, err
	}
	created, err := api.CreateFunctionUrlConfig(ctx, &lambda.CreateFunctionUrlConfigInput{FunctionName: aws.String(name), AuthType: types.FunctionUrlAuthTypeNone})
	if err != nil {
		return nil, err
	}
	return &lambda.GetFunctionUrlConfigOutput{FunctionUrl: created.FunctionUrl, FunctionArn: created.FunctionArn, AuthType: created.AuthType, CreationTime: created.CreationTime}, nil
}
