// Package arn builds and parses Amazon Resource Names
// (arn:partition:service:region:account-id:resource) for every service
// berth emulates, so no other package writes or cuts one by hand:
//
//	iam     user/<name>
//	ecr     repository/<name>
//	ecs     cluster/<name>, task-definition/<family>:<revision>,
//	        task/<cluster>/<id>, service/<cluster>/<name>,
//	        container-instance/<cluster>/<id>
//	logs    log-group:<name>, log-group:<name>:log-stream:<name>
//	lambda  function:<name>[:<qualifier>]
//	batch   compute-environment/<name>, job-queue/<name>,
//	        job-definition/<name>:<revision>, job/<id>
//
// Build one from a [Scope] (the partition, region and account resources
// live in); read one with [Parse], then [ARN.Type] and [ARN.ID], or the
// helpers for IDs with parts ([ARN.Function], [ARN.Revision],
// [ARN.InCluster]).
package arn

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The services berth emulates, as ARNs and SigV4 credential scopes name
// them.
const (
	IAM    = "iam"
	ECR    = "ecr"
	ECS    = "ecs"
	Logs   = "logs"
	Lambda = "lambda"
	Batch  = "batch"
)

// ARN is an Amazon Resource Name. Resource is everything after the fifth
// colon, which for the resources berth emulates is a type and an ID joined
// by "/" or ":" ("repository/team/app", "function:hello:prod").
type ARN struct {
	Partition string // "aws"
	Service   string // "ecr"
	Region    string // "" for a global service (IAM)
	AccountID string // 12 digits; "aws" for AWS managed policies
	Resource  string
}

// String returns the ARN's text.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.AccountID + ":" + a.Resource
}

// Type returns the resource type: the resource up to its first "/" or ":"
// ("repository", "function", "log-group"), or all of it when it has
// neither.
func (a ARN) Type() string {
	typ, _ := a.split()
	return typ
}

// ID returns the resource after its type and separator ("team/app",
// "hello:prod", "/aws/lambda/hello"); "" when there is none.
func (a ARN) ID() string {
	_, id := a.split()
	return id
}

func (a ARN) split() (typ, id string) {
	if i := strings.IndexAny(a.Resource, "/:"); i >= 0 {
		return a.Resource[:i], a.Resource[i+1:]
	}
	return a.Resource, ""
}

// Is reports whether a names a resource of type typ of service.
func (a ARN) Is(service, typ string) bool { return a.Service == service && a.Type() == typ }

// Function returns the name and qualifier (a version or an alias; "" for
// none) of a Lambda function ARN.
func (a ARN) Function() (name, qualifier string, ok bool) {
	if !a.Is(Lambda, "function") || a.ID() == "" {
		return "", "", false
	}
	name, qualifier, _ = strings.Cut(a.ID(), ":")
	return name, qualifier, true
}

// Revision returns the family and revision of an ECS task definition or
// the name and revision of a Batch job definition.
func (a ARN) Revision() (name string, revision int, ok bool) {
	if !a.Is(ECS, "task-definition") && !a.Is(Batch, "job-definition") {
		return "", 0, false
	}
	name, rev, found := strings.Cut(a.ID(), ":")
	n, err := strconv.Atoi(rev)
	if !found || name == "" || err != nil || n < 1 || strconv.Itoa(n) != rev {
		return "", 0, false
	}
	return name, n, true
}

// InCluster returns the cluster and the ID (or name) of an ECS task,
// service or container instance. The older ARN form without a cluster
// gives cluster "".
func (a ARN) InCluster() (cluster, id string, ok bool) {
	if !a.Is(ECS, "task") && !a.Is(ECS, "service") && !a.Is(ECS, "container-instance") {
		return "", "", false
	}
	cluster, id, found := strings.Cut(a.ID(), "/")
	if !found {
		cluster, id = "", a.ID()
	}
	return cluster, id, id != ""
}

// ErrMalformed is wrapped by every error of [Parse].
var ErrMalformed = errors.New("malformed ARN")

// Parse parses an ARN. It checks the ARN's frame (the "arn" prefix, six
// fields, well-formed partition, service, region and account, a resource),
// not that the resource exists or that its type belongs to the service;
// what an ID may hold is each service's business. Errors wrap
// [ErrMalformed] and never quote the input.
func Parse(s string) (ARN, error) {
	f := strings.SplitN(s, ":", 6)
	if len(f) != 6 || f[0] != "arn" {
		return ARN{}, malformed("it must have the form arn:partition:service:region:account-id:resource")
	}
	a := ARN{Partition: f[1], Service: f[2], Region: f[3], AccountID: f[4], Resource: f[5]}
	switch {
	case !name(a.Partition, false):
		return ARN{}, malformed("the partition must be lower-case letters, digits and '-'")
	case !name(a.Service, false):
		return ARN{}, malformed("the service must be lower-case letters, digits and '-'")
	case !name(a.Region, true):
		return ARN{}, malformed("the region must be lower-case letters, digits and '-'")
	case !account(a.AccountID):
		return ARN{}, malformed("the account must be 12 digits")
	case a.Resource == "":
		return ARN{}, malformed("the resource is empty")
	}
	return a, nil
}

func malformed(why string) error { return fmt.Errorf("%w: %s", ErrMalformed, why) }

// name reports whether s is lower-case letters, digits and '-' (or empty,
// when allowed).
func name(s string, empty bool) bool {
	if s == "" {
		return empty
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// account reports whether s is an account field: 12 digits, "aws" (AWS
// managed policies) or empty (S3 buckets, AWS-owned resources).
func account(s string) bool {
	if s == "" || s == "aws" {
		return true
	}
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
