package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/berth-dev/berth/launcher"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
)

// Pull implements [launcher.Runtime]. The engine pulls the manifest for
// its own platform when image names an index (by tag or by the index's
// digest). Credentials travel in X-Registry-Auth, for the registry that
// image names.
func (r *Runtime) Pull(ctx context.Context, image string, auth launcher.RegistryAuth) error {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return &launcher.PullError{Image: image, Message: err.Error(), Err: launcher.ErrInvalidImage}
	}
	var opts client.ImagePullOptions
	if auth != (launcher.RegistryAuth{}) {
		enc, err := authconfig.Encode(registry.AuthConfig{
			Username: auth.Username, Password: auth.Password, ServerAddress: reference.Domain(named),
		})
		if err != nil {
			return fmt.Errorf("pull %s: %w", image, err)
		}
		opts.RegistryAuth = enc
	}
	resp, err := r.c.ImagePull(ctx, image, opts)
	if err == nil {
		// The engine answers 200 at once and reports failures, such as a
		// manifest the registry does not have, inside the stream.
		err = resp.Wait(ctx)
		resp.Close()
	}
	if err == nil {
		r.log.Debug("image pulled", "image", image)
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if client.IsErrConnectionFailed(err) {
		return engineErr(err, nil)
	}
	msg := message(err)
	lower := strings.ToLower(msg)
	return &launcher.PullError{
		Image:   image,
		Message: msg,
		NotFound: cerrdefs.IsNotFound(err) || strings.Contains(lower, "manifest unknown") ||
			strings.Contains(lower, "not found") || strings.Contains(lower, "name unknown"),
		Err: err,
	}
}

// LoadImage implements [launcher.ImageStore].
func (r *Runtime) LoadImage(ctx context.Context, archive io.Reader) error {
	res, err := r.c.ImageLoad(ctx, archive, client.ImageLoadWithQuiet(true))
	if err != nil {
		return fmt.Errorf("load image: %w", engineErr(err, nil))
	}
	defer res.Close()
	if err := drain(ctx, res); err != nil {
		return fmt.Errorf("load image: %w", err)
	}
	return nil
}

// ImageID implements [launcher.ImageStore].
func (r *Runtime) ImageID(ctx context.Context, ref string) (string, error) {
	res, err := r.c.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("inspect image %s: %w", ref, engineErr(err, launcher.ErrImageNotFound))
	}
	return res.ID, nil
}

// RemoveImage implements [launcher.ImageStore].
func (r *Runtime) RemoveImage(ctx context.Context, ref string) error {
	if _, err := r.c.ImageRemove(ctx, ref, client.ImageRemoveOptions{PruneChildren: true}); err != nil {
		return fmt.Errorf("remove image %s: %w", ref, engineErr(err, launcher.ErrImageNotFound))
	}
	return nil
}

// newMessageDecoder reads the engine's JSON progress messages one by one.
func newMessageDecoder(r io.Reader) func() (jsonstream.Message, error) {
	dec := json.NewDecoder(r)
	return func() (jsonstream.Message, error) {
		var m jsonstream.Message
		err := dec.Decode(&m)
		return m, err
	}
}
