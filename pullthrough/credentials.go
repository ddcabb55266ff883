package pullthrough

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/berth-dev/berth/auth/secret"
)

// Upstream credentials. ECR keeps them in Secrets Manager and a rule
// names the secret by its ARN, whose name must start with
// "ecr-pullthroughcache/". berth has no Secrets Manager: it keeps the
// credentials in the index, sealed with its master key (package secret)
// under the secret's name, set with `berth pull-through credential set`.
// A rule names them by the same ARN as on AWS. The password is never
// returned by any API or written to a log.

// SecretPrefix is the prefix ECR requires of a pull-through cache
// secret's name.
const SecretPrefix = "ecr-pullthroughcache/"

// credentialSetting is the settings key of credential name.
const credentialSetting = "pullthrough.credential/"

// ErrCredentialArn: a credentialArn that is not a Secrets Manager secret
// ARN with the ecr-pullthroughcache/ prefix.
var ErrCredentialArn = errors.New("pullthrough: invalid credential ARN")

// ErrNoCredential: the secret a rule names was never set.
var ErrNoCredential = errors.New("pullthrough: no such upstream credential")

// Credential is a user name and password for an upstream registry (on
// berth, an access key id and secret, or "AWS" and a token).
type Credential struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// String hides the password.
func (c Credential) String() string { return "Credential{" + c.Username + ", REDACTED}" }

// ParseCredentialArn returns the secret name an ECR credentialArn names:
// arn:<partition>:secretsmanager:<region>:<account>:secret:ecr-pullthroughcache/<name>.
// Errors wrap ErrCredentialArn and never quote the input.
func ParseCredentialArn(s string) (string, error) {
	f := strings.SplitN(s, ":", 7)
	if len(f) != 7 || f[0] != "arn" || f[1] == "" || f[2] != "secretsmanager" || f[5] != "secret" {
		return "", fmt.Errorf("%w: it must be arn:aws:secretsmanager:<region>:<account>:secret:%s<name>", ErrCredentialArn, SecretPrefix)
	}
	if len(f[4]) != 12 || strings.Trim(f[4], "0123456789") != "" {
		return "", fmt.Errorf("%w: the account must be 12 digits", ErrCredentialArn)
	}
	name := f[6]
	if !strings.HasPrefix(name, SecretPrefix) || !validSecretName(name) {
		return "", fmt.Errorf("%w: the secret's name must start with %s and hold letters, digits and /_+=.@-", ErrCredentialArn, SecretPrefix)
	}
	return name, nil
}

// validSecretName: Secrets Manager's name alphabet, 1 to 512 characters.
func validSecretName(s string) bool {
	if s == "" || len(s) > 512 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("/_+=.@-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// SetCredential seals cred under the master key and stores it as secret
// name (with or without the ecr-pullthroughcache/ prefix).
func (c *Cache) SetCredential(ctx context.Context, name string, cred Credential) error {
	name = secretName(name)
	if !validSecretName(name) {
		return fmt.Errorf("%w: bad secret name", ErrCredentialArn)
	}
	plain, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	defer clear(plain)
	sealed, err := c.sealer.Seal(plain, []byte(credentialSetting+name))
	if err != nil {
		return err
	}
	return c.store.PutSetting(ctx, credentialSetting+name, base64.StdEncoding.EncodeToString(sealed))
}

// DeleteCredential removes secret name.
func (c *Cache) DeleteCredential(ctx context.Context, name string) error {
	return c.store.PutSetting(ctx, credentialSetting+secretName(name), "")
}

func secretName(name string) string {
	if !strings.HasPrefix(name, SecretPrefix) {
		return SecretPrefix + name
	}
	return name
}

// credential opens the credential arn names; version identifies its
// sealed value (a hash, not the secret), so a changed credential gets a new
// client. ErrNoCredential if it was never set.
func (c *Cache) credential(ctx context.Context, arn string) (cred Credential, version string, err error) {
	name, err := ParseCredentialArn(arn)
	if err != nil {
		return cred, "", err
	}
	text, err := c.store.Setting(ctx, credentialSetting+name)
	if err != nil {
		return cred, "", err
	}
	if text == "" {
		return cred, "", fmt.Errorf("%w: %s", ErrNoCredential, name)
	}
	sealed, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return cred, "", secret.ErrOpen
	}
	plain, err := c.sealer.Open(sealed, []byte(credentialSetting+name))
	if err != nil {
		return cred, "", err
	}
	defer clear(plain)
	if err := json.Unmarshal(plain, &cred); err != nil {
		return cred, "", secret.ErrOpen
	}
	sum := sha256.Sum256(sealed)
	return cred, hex.EncodeToString(sum[:8]), nil
}

// authenticator is the upstream authentication of the credential arn
// names; anonymous when arn is "".
func (c *Cache) authenticator(ctx context.Context, arn string) (authn.Authenticator, string, error) {
	if arn == "" {
		return authn.Anonymous, "", nil
	}
	cred, version, err := c.credential(ctx, arn)
	if err != nil {
		return nil, "", err
	}
	return &authn.Basic{Username: cred.Username, Password: cred.Password}, version, nil
}

// CheckCredential reports whether the credential arn names is set and
// opens: ErrCredentialArn, ErrNoCredential or secret.ErrOpen if not.
func (c *Cache) CheckCredential(ctx context.Context, arn string) error {
	_, _, err := c.credential(ctx, arn)
	return err
}
