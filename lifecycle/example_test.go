package lifecycle_test

import (
	"fmt"
	"time"

	"github.com/berth-dev/berth/lifecycle"
)

func Example() {
	policy, err := lifecycle.Parse(`{
  "rules": [
    {"rulePriority": 1, "description": "keep the two newest releases",
     "selection": {"tagStatus": "tagged", "tagPatternList": ["v*"],
                   "countType": "imageCountMoreThan", "countNumber": 2},
     "action": {"type": "expire"}},
    {"rulePriority": 2, "description": "drop untagged images after a week",
     "selection": {"tagStatus": "untagged",
                   "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
     "action": {"type": "expire"}}
  ]
}`)
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	images := []lifecycle.Image{
		{Digest: "sha256:v1", Tags: []string{"v1"}, PushedAt: now.Add(-30 * day)},
		{Digest: "sha256:v2", Tags: []string{"v2"}, PushedAt: now.Add(-20 * day)},
		{Digest: "sha256:v3", Tags: []string{"v3", "latest"}, PushedAt: now.Add(-10 * day)},
		{Digest: "sha256:old", PushedAt: now.Add(-8 * day)},
		{Digest: "sha256:new", PushedAt: now.Add(-1 * day)},
		// A signature of v1: young and untagged, it goes because v1 goes.
		{Digest: "sha256:sig", PushedAt: now.Add(-2 * day), Subject: "sha256:v1"},
	}
	for _, r := range lifecycle.Evaluate(policy, images, now) {
		fmt.Println(r.Digest, r.Action.Type, "by rule", r.RulePriority)
	}

	_, err = lifecycle.Parse(`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`)
	fmt.Println(err)
	// Output:
	// sha256:v1 expire by rule 1
	// sha256:old expire by rule 2
	// sha256:sig expire by rule 1
	// Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: rules[0].selection: tagStatus tagged requires tagPrefixList or tagPatternList'
}
