package policy_test

import (
	"errors"
	"fmt"

	"github.com/berth-dev/berth/auth/policy"
)

func ExampleEvaluate() {
	// A repository policy that lets anyone pull: every authenticated
	// principal, and anonymous callers when the evaluator opts in.
	repoPolicy, err := policy.ParseRepositoryPolicy(`{
	  "Version": "2012-10-17",
	  "Statement": [{
	    "Sid": "AnonymousPull",
	    "Effect": "Allow",
	    "Principal": "*",
	    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
	  }]
	}`)
	if err != nil {
		panic(err)
	}
	repo := "arn:aws:ecr:us-east-1:123456789012:repository/team/app"

	pull := policy.Evaluate(nil, repoPolicy, policy.Request{Action: "ecr:BatchGetImage", Resource: repo, AnonymousGrant: true})
	fmt.Println(pull.Result, pull.Statement.Sid)

	push := policy.Evaluate(nil, repoPolicy, policy.Request{Action: "ecr:PutImage", Resource: repo, AnonymousGrant: true})
	fmt.Println(push.Result)

	alice := policy.Evaluate([]*policy.Policy{policy.PowerUser()}, repoPolicy, policy.Request{
		Principal: "arn:aws:iam::123456789012:user/alice", Action: "ecr:PutImage", Resource: repo,
	})
	fmt.Println(alice.Result)
	// Output:
	// Allow AnonymousPull
	// ImplicitDeny
	// Allow
}

func ExampleParse() {
	_, err := policy.Parse(`{"Version":"2012-10-17","Statement":[{"Effect":"Permit","Principal":"*","Action":"ecr:*"}]}`,
		policy.Options{Kind: policy.Resource, MaxLength: policy.RepositoryPolicyMaxLength})
	fmt.Println(errors.Is(err, policy.ErrInvalid))
	fmt.Println(err)
	// Output:
	// true
	// Statement[0].Effect: must be "Allow" or "Deny", got "Permit"
}
