package ecr_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Any body for any operation gets an AWS answer: 200, or a 4xx whose body
// names an error type; never a 500 or a hang.
func FuzzAPI(f *testing.F) {
	_, _, srv := newAPI(f)
	ops := []string{
		"CreateRepository", "DescribeRepositories", "DeleteRepository", "PutImageTagMutability", "TagResource",
		"ListImages", "DescribeImages", "BatchGetImage", "PutImage", "BatchDeleteImage", "UploadLayerPart",
		"CompleteLayerUpload", "BatchCheckLayerAvailability", "PutReplicationConfiguration", "CreatePullThroughCacheRule",
		"PutAccountSetting", "SetRepositoryPolicy", "GetDownloadUrlForLayer",
	}
	for i, body := range []string{
		`{"repositoryName":"app"}`, `{}`, `{"repositoryName":"app","imageIds":[{"imageTag":"v1"}]}`,
		`{"repositoryName":"app","imageManifest":"{\"schemaVersion\":2}","imageTag":"x"}`,
		`{"repositoryName":"app","nextToken":"AAAA","maxResults":5}`, `{"repositoryName":"app","imageTagMutability":"IMMUTABLE_WITH_EXCLUSION","imageTagMutabilityExclusionFilters":[{"filterType":"WILDCARD","filter":"*"}]}`,
		`{"replicationConfiguration":{"rules":[{"destinations":[]}]}}`, `{"repositoryName":"app","uploadId":"x","partFirstByte":0,"partLastByte":0,"layerPartBlob":"eA=="}`,
		`[]`, `null`, `{"repositoryName":7}`,
	} {
		f.Add(uint8(i), body)
	}
	f.Fuzz(func(t *testing.T, op uint8, body string) {
		action := ops[int(op)%len(ops)]
		req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921."+action)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		var e struct {
			Type string `json:"__type"`
		}
		if resp.StatusCode >= 500 || json.NewDecoder(resp.Body).Decode(&e) != nil || e.Type == "" {
			t.Fatalf("%s %q: %s, __type %q", action, body, resp.Status, e.Type)
		}
	})
}
