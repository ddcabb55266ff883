package awsjson_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

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
	svc := awsjson.NewService("AmazonEC2ContainerRegistry_V20150921")
	awsjson.Handle(svc, "GetThing", func(ctx context.Context, in *getInput) (*getOutput, error) {
		if in.RepositoryName == nil {
			return nil, awsjson.InvalidParameterError("repositoryName is required")
		}
		return &getOutput{RepositoryName: in.RepositoryName}, nil
	})

	for _, body := range []string{`{"repositoryName":"my-app"}`, `{}`} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.GetThing")
		r.Header.Set("Content-Type", awsjson.ContentType)
		w := httptest.NewRecorder()
		svc.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 {"repositoryName":"my-app"}
	// 400 {"__type":"InvalidParameterException","message":"repositoryName is required"}
}
