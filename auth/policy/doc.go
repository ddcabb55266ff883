// Package policy owns IAM-style JSON policy documents as Amazon ECR uses
// them: repository (resource-based) policies and the identity policies
// attached to berth's principals.
//
// It parses and validates policy text ([Parse], [ParseRepositoryPolicy]),
// decides a request against a set of policies the way AWS IAM does within
// one account ([Evaluate]), and provides the AWS managed ECR identity
// policies ([FullAccess], [PowerUser], [ReadOnly]).
//
// The package has no I/O and no state. Validation failures are
// [*ValidationError] values that match [ErrInvalid]; the API layer maps them
// to ECR's InvalidParameterException.
//
// Grammar and evaluation follow the IAM User Guide: "IAM JSON policy
// element reference" and "Policy evaluation logic"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements.html,
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
package policy
