// Package secret owns the key material of access keys: generating a new
// access key ([NewAccessKey]) and sealing its secret for the metadata index
// ([Sealer]).
//
// berth must recover a secret access key to check a SigV4 signature, so it
// cannot store a hash. It stores the secret sealed instead: encrypted and
// authenticated with AES-256-GCM under a master key that lives outside the
// index, in a key file ([LoadOrCreateMasterKey]) or in config
// ([FromBase64]). A copy of the database alone reveals no secret. The
// access key ID is bound as additional data ([Sealer.SealAccessKey]), so a
// sealed secret copied onto another key's row does not open.
//
// A sealed value is
//
//	version (1 byte, 1) || nonce (12 random bytes) || ciphertext || GCM tag (16 bytes)
//
// and the version byte is authenticated with the additional data, so a
// later format or master-key rotation can tell values apart.
//
// Secrets and master keys must never be logged, put in error messages or
// metrics, or returned in API errors. [AccessKey] and [Sealer] print and
// log without them, and errors from this package never contain them. Log
// an access key's ID instead.
package secret
