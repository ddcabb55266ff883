package arn

import "strconv"

// Scope is where resources live: a partition ("aws" when empty), a region
// and an account. Its methods build the ARNs of the resources berth
// emulates.
type Scope struct {
	Partition string
	Region    string
	AccountID string
}

func (s Scope) arn(service, region, resource string) ARN {
	p := s.Partition
	if p == "" {
		p = "aws"
	}
	return ARN{Partition: p, Service: service, Region: region, AccountID: s.AccountID, Resource: resource}
}

// User is an IAM user: arn:aws:iam::<account>:user/<name>. IAM is global,
// so the ARN has no region.
func (s Scope) User(name string) ARN { return s.arn(IAM, "", "user/"+name) }

// Repository is an ECR repository: repository/<name>.
func (s Scope) Repository(name string) ARN { return s.arn(ECR, s.Region, "repository/"+name) }

// Cluster is an ECS cluster: cluster/<name>.
func (s Scope) Cluster(name string) ARN { return s.arn(ECS, s.Region, "cluster/"+name) }

// TaskDefinition is an ECS task definition revision:
// task-definition/<family>:<revision>.
func (s Scope) TaskDefinition(family string, revision int) ARN {
	return s.arn(ECS, s.Region, "task-definition/"+family+":"+strconv.Itoa(revision))
}

// Task is an ECS task: task/<cluster>/<id>.
func (s Scope) Task(cluster, id string) ARN { return s.arn(ECS, s.Region, "task/"+cluster+"/"+id) }

// ECSService is an ECS service: service/<cluster>/<name>.
func (s Scope) ECSService(cluster, name string) ARN {
	return s.arn(ECS, s.Region, "service/"+cluster+"/"+name)
}

// ContainerInstance is an ECS container instance:
// container-instance/<cluster>/<id>.
func (s Scope) ContainerInstance(cluster, id string) ARN {
	return s.arn(ECS, s.Region, "container-instance/"+cluster+"/"+id)
}

// LogGroup is a CloudWatch Logs log group: log-group:<name>. (The
// logGroupArn member has this form; DescribeLogGroups' arn member adds
// ":*".)
func (s Scope) LogGroup(name string) ARN { return s.arn(Logs, s.Region, "log-group:"+name) }

// LogStream is a CloudWatch Logs log stream:
// log-group:<group>:log-stream:<stream>. CloudWatch Logs authorizes a
// group's operations on its stream ARN with an empty stream name, and
// operations on every group with an empty group too
// ("log-group::log-stream:"), so policies on "log-group:<group>:*" cover
// both.
func (s Scope) LogStream(group, stream string) ARN {
	return s.arn(Logs, s.Region, "log-group:"+group+":log-stream:"+stream)
}

// Function is a Lambda function, qualified by a version or alias unless
// qualifier is "": function:<name>[:<qualifier>].
func (s Scope) Function(name, qualifier string) ARN {
	r := "function:" + name
	if qualifier != "" {
		r += ":" + qualifier
	}
	return s.arn(Lambda, s.Region, r)
}

// ComputeEnvironment is a Batch compute environment:
// compute-environment/<name>.
func (s Scope) ComputeEnvironment(name string) ARN {
	return s.arn(Batch, s.Region, "compute-environment/"+name)
}

// JobQueue is a Batch job queue: job-queue/<name>.
func (s Scope) JobQueue(name string) ARN { return s.arn(Batch, s.Region, "job-queue/"+name) }

// JobDefinition is a Batch job definition revision:
// job-definition/<name>:<revision>.
func (s Scope) JobDefinition(name string, revision int) ARN {
	return s.arn(Batch, s.Region, "job-definition/"+name+":"+strconv.Itoa(revision))
}

// Job is a Batch job: job/<id>.
func (s Scope) Job(id string) ARN { return s.arn(Batch, s.Region, "job/"+id) }
