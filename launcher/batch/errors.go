package batch

import (
	"net/http"

	"github.com/berth-dev/berth/internal/awserr"
)

// Batch's model has two errors: ClientException for anything the caller
// got wrong (bad parameters, unknown resources, a state that forbids the
// call) and ServerException for berth's own faults. Handlers return these
// values; the front door's one writer sends them with an X-Amzn-ErrorType
// header and {"__type", "message"}.
const (
	typeClient = "ClientException"
	typeServer = "ServerException"
)

// clientError is the ClientException with Batch's wording.
func clientError(format string, args ...any) error {
	return awserr.Errorf(typeClient, format, args...)
}

// engineUnavailable answers calls when berth cannot reach the Docker
// Engine: a server fault the user can act on.
func engineUnavailable(cause error) error {
	return awserr.New(typeServer, http.StatusInternalServerError,
		"The container engine is unavailable: berth cannot reach the Docker Engine (check DOCKER_HOST and that the engine runs).").WithCause(cause)
}
