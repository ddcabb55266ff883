package awsjson_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/berth-dev/berth/internal/awserr"
	"github.com/berth-dev/berth/internal/awsjson"
)

func ExampleHandle() {
	type getInput struct {
		RepositoryName *string `json:"repositoryName,omitempty"`
	}
	type getOutput struct {
		RepositoryName *string      `json:"repositoryName,omitempty"`
		RegistryID     *string      `json:"registryId,omitempty"` // nil: left out
		CreatedAt      awsjson.Time `json:"createdAt,omitzero"`
	}
	svc := awsjson.NewService("AmazonEC2ContainerRegistry_V20150921", "ecr")
	awsjson.Handle(svc, "GetThing", func(ctx context.Context, in *getInput) (*getOutput, error) {
		if in.RepositoryName == nil {
			return nil, awserr.Errorf(awserr.InvalidParameterException, "repositoryName is required")
		}
		return &getOutput{RepositoryName: in.RepositoryName}, nil
	})
	mux := http.NewServeMux()
	front := awsjson.NewFront(mux, nil, nil) // nil: no authentication, as in tests
	front.JSON(svc)

	for _, body := range []string{`{"repositoryName":"my-app"}`, `{}`} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.GetThing")
		r.Header.Set("Content-Type", awsjson.ContentType)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 {"repositoryName":"my-app"}
	// 400 {"__type":"InvalidParameterException","message":"repositoryName is required"}
}

func ExampleHandleREST() {
	type getFunctionInput struct {
		FunctionName string  `json:"-" uri:"FunctionName"`
		Qualifier    *string `json:"-" query:"Qualifier"`
	}
	type getFunctionOutput struct {
		FunctionName string `json:"FunctionName"`
		Version      string `json:"Version"`
	}
	svc := awsjson.NewRESTService("lambda", awsjson.WithServerFault("ServiceException"),
		awsjson.WithErrorBody(func(e *awserr.Error) any {
			return map[string]string{"Type": "User", "Message": e.Message}
		}))
	awsjson.HandleREST(svc, "GET /2015-03-31/functions/{FunctionName}", "GetFunction",
		func(ctx context.Context, in *getFunctionInput) (*getFunctionOutput, error) {
			if in.FunctionName != "hello" {
				return nil, awserr.New("ResourceNotFoundException", 404, "Function not found: "+in.FunctionName)
			}
			version := "$LATEST"
			if in.Qualifier != nil {
				version = *in.Qualifier
			}
			return &getFunctionOutput{FunctionName: in.FunctionName, Version: version}, nil
		})
	mux := http.NewServeMux()
	awsjson.NewFront(mux, nil, nil).REST(svc)

	for _, path := range []string{"/2015-03-31/functions/hello?Qualifier=2", "/2015-03-31/functions/bye", "/2015-03-31/layers"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Println(w.Code, w.Header().Get("X-Amzn-ErrorType"), w.Body.String())
	}
	// Output:
	// 200  {"FunctionName":"hello","Version":"2"}
	// 404 ResourceNotFoundException {"Message":"Function not found: bye","Type":"User"}
	// 400 UnknownOperationException {"Message":"No operation of lambda matches this method and path.","Type":"User"}
}
