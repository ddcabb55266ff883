package ecs

import (
	"net/http"

	"github.com/berth-dev/berth/internal/awserr"
)

// The errors of the ECS API: the type names ECS's model gives the errors
// berth returns, and one constructor per error with ECS's wording. The
// errors every AWS service shares (InvalidParameterException,
// AccessDeniedException, ServerException, ...) are awserr's. Handlers
// return these values; the front door's one writer sends them.
const (
	typeClient               = "ClientException"
	typeClusterNotFound      = "ClusterNotFoundException"
	typeClusterContainsTasks = "ClusterContainsTasksException"
	typeClusterContainsSvcs  = "ClusterContainsServicesException"
	typeResourceNotFound     = "ResourceNotFoundException"
	typeServiceNotFound      = "ServiceNotFoundException"
	typeServiceNotActive     = "ServiceNotActiveException"
)

// clientError is ECS's catch-all for a request it refuses: bad task
// definitions, unknown task definitions.
func clientError(format string, args ...any) error {
	return awserr.Errorf(typeClient, format, args...)
}

// invalidParameter is a parameter value ECS refuses.
func invalidParameter(format string, args ...any) error {
	return awserr.Errorf(awserr.InvalidParameterException, format, args...)
}

// clusterNotFound is what every call naming a cluster that does not exist
// (or was deleted) gets.
func clusterNotFound() error {
	return awserr.Errorf(typeClusterNotFound, "Cluster not found.")
}

// clusterContainsTasks refuses DeleteCluster while tasks run in it.
func clusterContainsTasks() error {
	return awserr.Errorf(typeClusterContainsTasks, "The Cluster cannot be deleted while Tasks are active.")
}

// clusterContainsServices refuses DeleteCluster while services are active.
func clusterContainsServices() error {
	return awserr.Errorf(typeClusterContainsSvcs, "The Cluster cannot be deleted while Services are active.")
}

// resourceNotFound is a tagging call on an ARN that names nothing.
func resourceNotFound() error {
	return awserr.Errorf(typeResourceNotFound, "The specified resource wasn't found.")
}

// engineUnavailable answers calls that need the Docker Engine when berth
// cannot reach it: a server fault, but one the user can act on, so it
// says what is wrong rather than the generic server message.
func engineUnavailable(cause error) error {
	return awserr.New(awserr.ServerException, http.StatusInternalServerError,
		"The container engine is unavailable: berth cannot reach the Docker Engine (check DOCKER_HOST and that the engine runs).").WithCause(cause)
}
