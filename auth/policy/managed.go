package policy

// The AWS managed identity policies for ECR, as published in the AWS
// Managed Policy Reference (AmazonEC2ContainerRegistryFullAccess,
// AmazonEC2ContainerRegistryPowerUser v3, AmazonEC2ContainerRegistryReadOnly
// v3). Each call returns a fresh copy the caller may modify.

// readOnlyActions is AmazonEC2ContainerRegistryReadOnly's action list.
func readOnlyActions() []string {
	return []string{
		"ecr:GetAuthorizationToken",
		"ecr:BatchCheckLayerAvailability",
		"ecr:GetDownloadUrlForLayer",
		"ecr:GetRepositoryPolicy",
		"ecr:DescribeRepositories",
		"ecr:ListImages",
		"ecr:DescribeImages",
		"ecr:BatchGetImage",
		"ecr:GetLifecyclePolicy",
		"ecr:GetLifecyclePolicyPreview",
		"ecr:ListTagsForResource",
		"ecr:DescribeImageScanFindings",
	}
}

// FullAccess returns AmazonEC2ContainerRegistryFullAccess: every ECR
// action (plus the CloudTrail lookup and replication service-linked role
// the AWS policy grants, kept so the document matches AWS's).
func FullAccess() *Policy {
	return &Policy{Version: Version2012, Statements: []Statement{
		{Effect: EffectAllow, Action: []string{"ecr:*", "cloudtrail:LookupEvents"}, Resource: []string{"*"}},
		{
			Effect: EffectAllow, Action: []string{"iam:CreateServiceLinkedRole"}, Resource: []string{"*"},
			Conditions: []Condition{{Operator: "StringEquals", Key: "iam:AWSServiceName", Values: []string{"replication.ecr.amazonaws.com"}}},
		},
	}}
}

// PowerUser returns AmazonEC2ContainerRegistryPowerUser: pull, push and
// read everything, but not delete repositories or change their policies.
func PowerUser() *Policy {
	actions := append(readOnlyActions(),
		"ecr:InitiateLayerUpload",
		"ecr:UploadLayerPart",
		"ecr:CompleteLayerUpload",
		"ecr:PutImage",
	)
	return &Policy{Version: Version2012, Statements: []Statement{
		{Effect: EffectAllow, Action: actions, Resource: []string{"*"}},
	}}
}

// ReadOnly returns AmazonEC2ContainerRegistryReadOnly: pull images and
// describe/list repositories, images, policies and scan findings.
func ReadOnly() *Policy {
	return &Policy{Version: Version2012, Statements: []Statement{
		{Effect: EffectAllow, Action: readOnlyActions(), Resource: []string{"*"}},
	}}
}

// ECSFullAccess returns AmazonECS_FullAccess as far as berth acts on it:
// every ECS action (the AWS policy also grants the EC2, load balancing
// and IAM actions ECS needs there, which berth has no use for).
func ECSFullAccess() *Policy {
	return &Policy{Version: Version2012, Statements: []Statement{
		{Effect: EffectAllow, Action: []string{"ecs:*"}, Resource: []string{"*"}},
	}}
}

// AdministratorAccess returns AWS's AdministratorAccess: every action on
// every resource, of every service berth serves.
func AdministratorAccess() *Policy {
	return &Policy{Version: Version2012, Statements: []Statement{
		{Effect: EffectAllow, Action: []string{"*"}, Resource: []string{"*"}},
	}}
}

// LogsFullAccess returns CloudWatchLogsFullAccess as far as berth acts on
// it: every CloudWatch Logs action.
func LogsFullAccess() *Policy {
	return &Policy{Version: Version2012, Statements: []Statement{
		{Effect: EffectAllow, Action: []string{"logs:*"}, Resource: []string{"*"}},
	}}
}

// LogsReadOnlyAccess returns CloudWatchLogsReadOnlyAccess: read groups,
// streams and events, search and tail them.
func LogsReadOnlyAccess() *Policy {
	return &Policy{Version: Version2012, Statements: []Statement{
		{Effect: EffectAllow, Action: []string{
			"logs:Describe*", "logs:Get*", "logs:List*", "logs:StartQuery", "logs:StopQuery",
			"logs:TestMetricFilter", "logs:FilterLogEvents", "logs:StartLiveTail", "logs:StopLiveTail",
		}, Resource: []string{"*"}},
	}}
}

// LambdaFullAccess returns AWSLambda_FullAccess as far as berth acts on
// it: every Lambda action, and reading the functions' logs (the AWS
// policy also grants the many services functions are wired to there).
func LambdaFullAccess() *Policy {
	return &Policy{Version: Version2012, Statements: []Statement{
		{Effect: EffectAllow, Action: []string{"lambda:*"}, Resource: []string{"*"}},
		{Effect: EffectAllow, Action: []string{"logs:DescribeLogGroups"}, Resource: []string{"*"}},
		{Effect: EffectAllow, Action: []string{"logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartLiveTail", "logs:StopLiveTail"},
			Resource: []string{"arn:aws:logs:*:*:log-group:/aws/lambda/*"}},
	}}
}

// BatchFullAccess returns AWSBatchFullAccess as far as berth acts on it:
// every Batch action, and reading the jobs' logs.
func BatchFullAccess() *Policy {
	return &Policy{Version: Version2012, Statements: []Statement{
		{Effect: EffectAllow, Action: []string{"batch:*"}, Resource: []string{"*"}},
		{Effect: EffectAllow, Action: []string{"logs:DescribeLogGroups"}, Resource: []string{"*"}},
		{Effect: EffectAllow, Action: []string{"logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartLiveTail", "logs:StopLiveTail"},
			Resource: []string{"arn:aws:logs:*:*:log-group:/aws/batch/job*"}},
	}}
}
