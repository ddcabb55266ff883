package launcher

// Caller is who launched something (an ECS task, a Lambda function's
// code): the user and the access key that signed the request, empty when
// access control is off. Its registry credentials pull the images, so
// that repository policies apply to launches as they do to pulls.
type Caller struct {
	User        string `json:"user,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccessKeyID string `json:"accessKeyId,omitempty"`
}
