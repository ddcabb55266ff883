package launcher

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns 32 random hex digits: an ECS task's id, a Lambda
// execution environment's.
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// NewUUID returns a random UUID (version 4) in its usual text form: the
// end of an ECS container's ARN, a Lambda request id.
func NewUUID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
