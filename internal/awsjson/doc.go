// Package awsjson owns the AWS wire protocols berth's AWS-compatible APIs
// are served over, AWS JSON 1.1 (ECR, ECS, CloudWatch Logs) and REST-JSON
// (Lambda, Batch), so that the real aws CLI and AWS SDKs work against berth
// with --endpoint-url.
//
// It owns, and nothing else in berth re-implements:
//
//   - the front door ([Front]): one router that hands each request to its
//     service, by X-Amz-Target prefix on "POST /" or by method and path,
//     authenticated for that service's SigV4 signing name;
//   - dispatch to typed operation handlers ([Service] and [Handle] for AWS
//     JSON 1.1, [RESTService] and [HandleREST] for REST-JSON);
//   - request limits and decoding, and the authentication hook that sees the
//     exact body bytes (SigV4 needs them);
//   - the one error writer that turns any error into its protocol's form:
//     {"__type":"<Name>","message":"..."} with its HTTP status for AWS JSON
//     1.1, the X-Amzn-ErrorType header and the service's body for REST-JSON.
//     Error values are protocol-neutral [awserr.Error]s; any other error is
//     the service's server fault, sent with 503 when it is a failure to
//     reach the metadata index, so that clients retry it;
//   - the x-amzn-RequestId header on every response ([RequestID]);
//   - epoch-seconds timestamps ([Time]);
//   - opaque, tamper-proof pagination tokens ([TokenCodec]).
//
// # Declaring input and output shapes
//
// Inputs and outputs are plain Go structs whose json tags carry the exact
// member names of the AWS model (lowerCamelCase for ECR, e.g.
// `json:"repositoryName"`). AWS leaves null members out of responses, so
// every optional output member must be omittable:
//
//   - scalars that may be absent: pointers with omitempty
//     (RegistryID *string `json:"registryId,omitempty"`), so that a present
//     zero value (false, 0, "") is still sent;
//   - lists and maps: omitempty (nil and empty are both left out);
//   - nested structures: pointers with omitempty;
//   - timestamps: [Time] with omitzero, or *Time with omitempty.
//
// Unknown input members are ignored, as AWS services do for forward
// compatibility. Note one difference from AWS: encoding/json matches member
// names case-insensitively, so "RepositoryName" is read as "repositoryName".
// Neither the CLI nor the SDKs ever send a differently cased name.
package awsjson
