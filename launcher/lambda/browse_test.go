package lambda_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/launcher/lambda"
)

// The Go API the web UI uses reads what the HTTP API made, and invokes
// as Invoke does with LogType Tail, with Lambda's refusals.
func TestGoAPI(t *testing.T) {
	t.Parallel()
	a := newAPI(t, lambda.RunnerConfig{})
	name := functionName(t, "")
	a.create(t, name)
	ctx := t.Context()
	if _, err := a.client.PublishVersion(ctx, &sdk.PublishVersionInput{FunctionName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.client.CreateAlias(ctx, &sdk.CreateAliasInput{FunctionName: aws.String(name), Name: aws.String("live"), FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.client.CreateFunctionUrlConfig(ctx, &sdk.CreateFunctionUrlConfigInput{FunctionName: aws.String(name), AuthType: types.FunctionUrlAuthTypeNone}); err != nil {
		t.Fatal(err)
	}

	f, err := a.api.Function(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if f.FunctionName != name || f.State != lambda.StateActive || f.Repository != a.reg.Repository || f.Digest != a.reg.Digest ||
		f.ImageURI != a.reg.TagRef() || !strings.HasSuffix(f.ResolvedImageURI, "@"+a.reg.Digest) || len(f.URLs) != 1 {
		t.Errorf("Function = %+v", f)
	}
	list, err := a.api.Functions(ctx, "", 1000)
	if err != nil || !containsFunction(list, name) {
		t.Errorf("Functions lacks %s: %v", name, err)
	}
	if versions, err := a.api.Versions(ctx, name); err != nil || len(versions) != 1 || versions[0].Version != "1" {
		t.Errorf("Versions = %+v, %v", versions, err)
	}
	if aliases, err := a.api.Aliases(ctx, name); err != nil || len(aliases) != 1 || aliases[0].Name != "live" || aliases[0].FunctionVersion != "1" {
		t.Errorf("Aliases = %+v, %v", aliases, err)
	}

	inv, err := a.api.Invoke(ctx, name, "live", []byte(`{"action":"fail"}`))
	if err != nil || inv.ExecutedVersion != "1" || inv.ErrorType != "errorString" || !strings.Contains(string(inv.LogTail), "REPORT RequestId: "+inv.RequestID) {
		t.Errorf("Invoke through the alias = %+v, %v", inv, err)
	}
	inv, err = a.api.Invoke(ctx, name, "", nil)
	if err != nil || inv.ExecutedVersion != "$LATEST" || string(inv.Payload) != `{}` || inv.ErrorType != "" {
		t.Errorf("Invoke without a payload = %+v, %v", inv, err)
	}
	for _, tt := range []struct {
		name, qualifier, payload, errType string
		status                            int
	}{
		{name, "", `{"action":`, "InvalidRequestContentException", http.StatusBadRequest},
		{name, "9", `{}`, "ResourceNotFoundException", http.StatusNotFound},
		{name + "-none", "", `{}`, "ResourceNotFoundException", http.StatusNotFound},
	} {
		_, err := a.api.Invoke(ctx, tt.name, tt.qualifier, []byte(tt.payload))
		var ae *awserr.Error
		if !errors.As(err, &ae) || ae.Type != tt.errType || ae.HTTPStatus() != tt.status {
			t.Errorf("Invoke(%s, %q, %s) = %v; want %s", tt.name, tt.qualifier, tt.payload, err, tt.errType)
		}
	}
	if _, err := a.api.Function(ctx, name+"-none"); err == nil {
		t.Error("Function of a function that does not exist: no error")
	}
}

func containsFunction(list []lambda.Function, name string) bool {
	for _, f := range list {
		if f.FunctionName == name {
			return true
		}
	}
	return false
}
