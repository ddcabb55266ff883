// Package launcher owns what berth's three emulations (ECS, Lambda and
// Batch) share: a small interface over a container engine, the value types
// that describe a container to run, the berth.* labels that let berth find
// its containers again after a restart, and the rewriting of image names
// to the registry's loopback address.
//
// The interface follows the lifecycle of nomad's task drivers: a core
// [Runtime] (pull, create, start, wait, stop, inspect, remove, list) and
// optional abilities as separate interfaces ([LogSource], [EventSource],
// [ImageStore]) that a consumer finds by type assertion. The Docker Engine
// implementation lives in launcher/docker, the only package in berth that
// imports the Docker client; the task sidecar that holds an ECS task's
// network namespace lives in launcher/sidecar.
package launcher
