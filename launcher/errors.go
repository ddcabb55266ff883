package launcher

import (
	"errors"
	"fmt"
)

// Errors a [Runtime] returns, wrapped with the engine's message; test them
// with errors.Is.
var (
	// ErrNotFound: the engine has no such container.
	ErrNotFound = errors.New("no such container")
	// ErrImageNotFound: the image is neither present nor in its registry.
	ErrImageNotFound = errors.New("no such image")
	// ErrConflict: the name is taken, or the object is still in use.
	ErrConflict = errors.New("conflict")
	// ErrInvalidSpec: berth or the engine refused the container's spec.
	ErrInvalidSpec = errors.New("invalid container spec")
	// ErrUnavailable: the engine could not be reached.
	ErrUnavailable = errors.New("container engine unavailable")
)

// PullError is a failed pull. Message is the engine's own words, which ECS
// shows after "CannotPullContainerError: ".
type PullError struct {
	Image   string
	Message string
	// NotFound says the registry has no such repository, tag or digest.
	NotFound bool
	// Err is the underlying error, when there is one beyond Message.
	Err error
}

func (e *PullError) Error() string {
	return fmt.Sprintf("pull %s: %s", e.Image, e.Message)
}

// Is makes errors.Is(err, ErrImageNotFound) true for a pull of a missing image.
func (e *PullError) Is(target error) bool {
	return target == ErrImageNotFound && e.NotFound
}

// Unwrap returns the underlying error.
func (e *PullError) Unwrap() error { return e.Err }

// ErrInvalidImage: an image name that is not a valid reference, or names a
// registry berth cannot pull from.
var ErrInvalidImage = errors.New("invalid image name")
