package client

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/moby/moby/api/pkg/authconfig"
	"github.com/moby/moby/api/types/registry"
	docker "github.com/moby/moby/client"
)

// Layer is one layer of a push, as the Docker Engine reports it: its
// short id, the engine's status ("Preparing", "Pushing", "Pushed",
// "Layer already exists") and the bytes sent of its size while pushing.
type Layer struct {
	ID             string
	Status         string
	Current, Total int64
}

// Done reports whether the layer's push is over.
func (l Layer) Done() bool {
	return l.Status == "Pushed" || l.Status == "Layer already exists" || strings.HasPrefix(l.Status, "Mounted from")
}

// PushDockerImage has the Docker Engine on this machine (DOCKER_HOST, or
// its default socket) push its image local to this server's registry as
// img, logged in with the client's identity; progress hears of each
// layer as the engine reports it. When local has another name the image
// is tagged as img for the push, and that tag removed after it. img
// needs a tag: a digest is what a push makes, not what it names.
func (c *Client) PushDockerImage(ctx context.Context, local string, img Image, progress func(Layer)) error {
	if img.Tag == "" || img.Digest != "" {
		return fmt.Errorf("pushing %s: name a tag to push, not a digest", local)
	}
	engine, err := docker.New(docker.FromEnv)
	if err != nil {
		return fmt.Errorf("the Docker Engine: %w", err)
	}
	defer engine.Close()
	if _, err := engine.ImageInspect(ctx, local); err != nil {
		return fmt.Errorf("no local Docker image %s to push: %w", local, err)
	}
	target := c.Registry() + "/" + img.Repository + ":" + img.Tag
	if target != local {
		if _, err := engine.ImageTag(ctx, docker.ImageTagOptions{Source: local, Target: target}); err != nil {
			return fmt.Errorf("tagging %s as %s: %w", local, target, err)
		}
		defer engine.ImageRemove(context.WithoutCancel(ctx), target, docker.ImageRemoveOptions{})
	}
	login, err := c.Login(ctx)
	if err != nil {
		return err
	}
	auth, err := authconfig.Encode(registry.AuthConfig{Username: login.Username, Password: login.Password, ServerAddress: c.Registry()})
	if err != nil {
		return err
	}
	resp, err := engine.ImagePush(ctx, target, docker.ImagePushOptions{RegistryAuth: auth})
	if err != nil {
		return fmt.Errorf("pushing %s: %w", target, err)
	}
	defer resp.Close()
	for msg, err := range resp.JSONMessages(ctx) {
		if err != nil {
			return fmt.Errorf("pushing %s: %w", target, err)
		}
		if msg.Error != nil {
			return fmt.Errorf("pushing %s: %w", target, errors.New(msg.Error.Message))
		}
		if msg.ID == "" || progress == nil {
			continue
		}
		l := Layer{ID: msg.ID, Status: msg.Status}
		if msg.Progress != nil {
			l.Current, l.Total = msg.Progress.Current, msg.Progress.Total
		}
		progress(l)
	}
	return nil
}
