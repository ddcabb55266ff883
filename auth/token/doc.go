// Package token owns berth's registry authorization tokens: the ES256
// signing keys that sign them ([KeySet]), the claims they carry ([Claims],
// [Access]), issuing and verifying them ([Issuer]), and the ECR wire forms
// around them ([ECRAuthorizationToken], [ParseBasic]).
//
// A token is a compact JWS (RFC 7515) signed with ECDSA P-256 (ES256). Its
// alphabet is [A-Za-z0-9_.-], so it never contains ':' — `aws ecr
// get-login-password` splits the decoded authorization token on ':' and
// fails if the password has one. GetAuthorizationToken returns
// [ECRAuthorizationToken] of a token; docker then sends the same token as the
// Basic password with the user name "AWS" on every /v2/ request.
//
// Verification failures are [ErrExpired] or [ErrInvalid]; the HTTP edge maps
// them to wire errors, for example ErrExpired to docker's "denied: Your
// authorization token has expired. Reauthenticate and try again."
//
// Private keys and tokens are secrets: never log them, put them in error
// messages or metrics, or return them in API errors. Log a token's ID (jti),
// subject and key ID instead. Errors returned by this package never contain
// key material or a token.
package token
