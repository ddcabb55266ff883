// Package lambda runs Lambda functions from container images as AWS runs
// them: the same image, the same Runtime API, the same Invoke API.
//
// A [Runner] runs invocations in execution environments. Each environment
// is a container of one function version in the host's network, with its
// own Runtime API server on 127.0.0.1 (an ephemeral port) that
// AWS_LAMBDA_RUNTIME_API names, so any runtime interface client (the AWS
// base images', aws-lambda-go) works unchanged and the container reaches
// berth on any Linux host without a bridge address. An environment serves
// one invocation at a time and stays warm; a new one starts when none is
// idle, up to the function's reserved concurrency or the account's limit
// (then a [ThrottleError]); idle ones stop after a while. Timeouts
// (Sandbox.Timedout), runtimes that exit (Runtime.ExitError) and failed
// inits discard the environment. Every invocation logs START, END and a
// REPORT line with its duration, billed duration, memory and init time.
package lambda
