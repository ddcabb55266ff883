package auth

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/auth/policy"
	"github.com/berth-dev/berth/internal/arn"
)

// The condition keys berth supplies with every request. A policy that
// names any other key is refused when it is set (InvalidParameterException
// from SetRepositoryPolicy, an error from `berth user create` and
// set-policy): a condition on a key that is never present would silently
// never hold, and a Deny on it would never fire.
var conditionKeys = []string{
	"aws:SourceIp",           // the client's address
	"aws:SecureTransport",    // "true" when the request came over TLS to berth
	"aws:PrincipalArn",       // the caller's ARN
	"aws:PrincipalAccount",   // the caller's account
	"aws:username",           // the user's name
	"aws:userid",             // the user's name: berth has no separate unique id
	"aws:CurrentTime",        // RFC 3339, UTC
	"aws:EpochTime",          // seconds since 1970
	"aws:RequestedRegion",    // the server's region (config aws.region)
	"aws:ResourceTag/",       // a tag of the resource, any service's
	"<service>:ResourceTag/", // the same, named after the service: ecr:ResourceTag/team
}

// SupportedConditionKeys lists the condition keys a policy may name, for
// documentation and error messages.
func SupportedConditionKeys() []string { return conditionKeys }

// SupportedConditionKey reports whether berth supplies condition key key
// (matched case-insensitively, as IAM does).
func SupportedConditionKey(key string) bool {
	if _, tag, ok := resourceTagKey(key); ok {
		return tag != ""
	}
	for _, k := range conditionKeys {
		if !strings.HasSuffix(k, "/") && strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// resourceTagKey splits "<service>:ResourceTag/<tag>" (service "aws" or
// any other prefix) into its service and tag.
func resourceTagKey(key string) (service, tag string, ok bool) {
	service, rest, ok := strings.Cut(key, ":")
	if !ok || service == "" {
		return "", "", false
	}
	const prefix = "resourcetag/"
	if len(rest) < len(prefix) || !strings.EqualFold(rest[:len(prefix)], prefix) {
		return "", "", false
	}
	return service, rest[len(prefix):], true
}

// isResourceTagKey reports whether key is a resource tag key.
func isResourceTagKey(key string) bool { _, _, ok := resourceTagKey(key); return ok }

// parseOptions are the options every policy berth stores is parsed with.
func parseOptions(kind policy.Kind) policy.Options {
	return policy.Options{Kind: kind, ConditionKeys: SupportedConditionKey}
}

// ResourceTagger is an optional ability of a service's ResourcePolicies:
// the tags of one of its resources, which policies test as
// aws:ResourceTag/<key> and <service>:ResourceTag/<key>. A service without
// it has no tags, so a condition on them is absent for its resources.
type ResourceTagger interface {
	// ResourceTags returns the tags of resource; none when it has none or
	// does not exist.
	ResourceTags(ctx context.Context, resource arn.ARN) (map[string]string, error)
}

// requestContext is the condition keys of one request by p for resource,
// as policy.Request's Context takes them, in lower case (as Evaluate
// compares them, so it need not copy them). Resource tags are looked up only
// when needTags, since they cost a query.
func (a *Authority) requestContext(ctx context.Context, p *Principal, resource arn.ARN, needTags bool) (map[string][]string, error) {
	now := a.now().UTC()
	c := map[string][]string{
		"aws:securetransport": {strconv.FormatBool(p.SecureTransport)},
		"aws:currenttime":     {now.Format(time.RFC3339)},
		"aws:epochtime":       {strconv.FormatInt(now.Unix(), 10)},
	}
	if a.cfg.Region != "" {
		c["aws:requestedregion"] = []string{a.cfg.Region}
	}
	if p.SourceIP != "" {
		c["aws:sourceip"] = []string{p.SourceIP}
	}
	if !p.Anonymous() {
		c["aws:username"] = []string{p.User}
		c["aws:userid"] = []string{p.User}
	}
	if !needTags || resource.Service == "" {
		return c, nil
	}
	tagger, ok := a.cfg.Resources[resource.Service].(ResourceTagger)
	if !ok {
		return c, nil
	}
	tags, err := tagger.ResourceTags(ctx, resource)
	if err != nil {
		// Fail closed: a tag may be what a Deny tests.
		return nil, fmt.Errorf("auth: reading the tags of %s: %w", resource, err)
	}
	for k, v := range tags {
		c["aws:resourcetag/"+strings.ToLower(k)] = []string{v}
		c[resource.Service+":resourcetag/"+strings.ToLower(k)] = []string{v}
	}
	return c, nil
}
