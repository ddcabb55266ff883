package main

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berth-dev/berth/internal/client"
	"github.com/berth-dev/berth/internal/output"
)

// pushLocal pushes the local Docker image local to berth as img, making
// its repository first when there is none, with a bar per layer on a
// terminal.
func pushLocal(r *remote, local string, img client.Image) error {
	_, err := r.ecr().CreateRepository(r.ctx(), &ecr.CreateRepositoryInput{RepositoryName: aws.String(img.Repository)})
	var exists *types.RepositoryAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return err
	}
	progress := r.progress()
	bars := map[string]*output.Bar{}
	err = r.client.PushDockerImage(r.ctx(), local, img, func(l client.Layer) {
		b, ok := bars[l.ID]
		if !ok {
			b = progress.Bytes(l.ID)
			bars[l.ID] = b
		}
		if l.Done() {
			b.Done(l.Status)
			return
		}
		b.Update(l.Status, l.Current, l.Total)
	})
	progress.Wait()
	return err
}
