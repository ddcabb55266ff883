package arn_test

import (
	"fmt"

	"github.com/berth-dev/berth/internal/arn"
)

func Example() {
	scope := arn.Scope{Region: "us-east-1", AccountID: "123456789012"}
	fmt.Println(scope.Repository("team/app"))
	fmt.Println(scope.TaskDefinition("web", 3))

	a, err := arn.Parse("arn:aws:lambda:us-east-1:123456789012:function:hello:prod")
	if err != nil {
		panic(err)
	}
	name, qualifier, _ := a.Function()
	fmt.Println(a.Service, a.Type(), name, qualifier)
	// Output:
	// arn:aws:ecr:us-east-1:123456789012:repository/team/app
	// arn:aws:ecs:us-east-1:123456789012:task-definition/web:3
	// lambda function hello prod
}
