package ecs

import (
	"net/http"

	"github.com/berth-dev/berth/internal/awsjson"
)

// ECS's error names (the __type of an error response), from the ECS API
// model. Every error the API returns is one of these, made by the
// functions below, so the vocabulary lives in one place.
const (
	typeClient                = "ClientException"
	typeInvalidParameter      = awsjson.TypeInvalidParameter
	typeClusterNotFound       = "ClusterNotFoundException"
	typeClusterContainsTasks  = "ClusterContainsTasksException"
	typeResourceNotFound      = "ResourceNotFoundException"
	typeUnsupportedFeature    = "UnsupportedFeatureException"
	typeServer                = awsjson.TypeServer
	typeServiceNotFound       = "ServiceNotFoundException" // for the service scheduler
	typeLimitExceeded         = "LimitExceededException"
	typeAccessDenied          = awsjson.TypeAccessDenied
	typePlatformIncompatible  = "PlatformTaskDefinitionIncompatibilityException"
	typeClusterContainsServer = "ClusterContainsServicesException"
)

// clientError is ECS's catch-all for a request it refuses: bad task
// definitions, unknown task definitions.
func clientError(format string, args ...any) error {
	return awsjson.Errorf(typeClient, format, args...)
}

// invalidParameter is a parameter value ECS refuses.
func invalidParameter(format string, args ...any) error {
	return awsjson.Errorf(typeInvalidParameter, format, args...)
}

// clusterNotFound is what every call naming a cluster that does not exist
// (or was deleted) gets.
func clusterNotFound() error {
	return awsjson.Errorf(typeClusterNotFound, "Cluster not found.")
}

// clusterContainsTasks refuses DeleteCluster while tasks run in it.
func clusterContainsTasks() error {
	return awsjson.Errorf(typeClusterContainsTasks, "The Cluster cannot be deleted while Tasks are active.")
}

// resourceNotFound is a tagging call on an ARN that names nothing.
func resourceNotFound() error {
	return awsjson.Errorf(typeResourceNotFound, "The specified resource wasn't found.")
}

// limitExceeded refuses a request beyond one of ECS's quotas.
func limitExceeded(format string, args ...any) error {
	return awsjson.Errorf(typeLimitExceeded, format, args...)
}

// engineUnavailable answers calls that need the Docker Engine when berth
// cannot reach it: a server fault, but one the user can act on, so it
// says what is wrong rather than the generic server message.
func engineUnavailable(cause error) error {
	return (&awsjson.Error{
		Type:    typeServer,
		Message: "The container engine is unavailable: berth cannot reach the Docker Engine (check DOCKER_HOST and that the engine runs).",
		Status:  http.StatusInternalServerError,
	}).WithCause(cause)
}

// validation is AWS's ValidationException for one bad member, which the
// ECS front end returns for a request that breaks the model's constraints.
func validation(member, value, constraint string) error {
	return awsjson.ValidationError("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: %s", value, member, constraint)
}
