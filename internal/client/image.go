package client

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/distribution/reference"
)

// Image names one image of the server: a repository and a tag, a digest,
// or both.
type Image struct {
	Repository string
	Tag        string
	Digest     string
}

// String is the image as docker names it without the registry:
// REPOSITORY:TAG, REPOSITORY@DIGEST or REPOSITORY:TAG@DIGEST.
func (i Image) String() string {
	s := i.Repository
	if i.Tag != "" {
		s += ":" + i.Tag
	}
	if i.Digest != "" {
		s += "@" + i.Digest
	}
	return s
}

// ID is the image as ECR's imageId member names it.
func (i Image) ID() types.ImageIdentifier {
	var id types.ImageIdentifier
	if i.Tag != "" {
		id.ImageTag = aws.String(i.Tag)
	}
	if i.Digest != "" {
		id.ImageDigest = aws.String(i.Digest)
	}
	return id
}

// ParseImage reads an image as people write it: REPOSITORY[:TAG],
// REPOSITORY@DIGEST, either after a registry host (localhost:5000/app:1,
// registry.example.com/team/app:1), or an ECR URI
// (000000000000.dkr.ecr.us-east-1.amazonaws.com/app:1). As with docker, a
// first path element is a registry host when it has a dot or a colon or is
// localhost; with neither tag nor digest the tag is latest.
func ParseImage(s string) (Image, error) {
	rest := s
	if first, after, ok := strings.Cut(s, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		rest = after
	}
	ref, err := reference.Parse(rest)
	if err != nil {
		return Image{}, fmt.Errorf("image %q: %w (want REPOSITORY:TAG or REPOSITORY@DIGEST)", s, err)
	}
	named, ok := ref.(reference.Named)
	if !ok {
		return Image{}, fmt.Errorf("image %q: no repository name (want REPOSITORY:TAG or REPOSITORY@DIGEST)", s)
	}
	img := Image{Repository: named.Name()}
	if t, ok := ref.(reference.Tagged); ok {
		img.Tag = t.Tag()
	}
	if d, ok := ref.(reference.Digested); ok {
		img.Digest = d.Digest().String()
	}
	if img.Tag == "" && img.Digest == "" {
		img.Tag = "latest"
	}
	return img, nil
}
