package launcher

// Labels berth writes on every container, network and image the launcher
// creates. They are the launcher's memory across restarts: berth lists its
// containers by label and reattaches to those still running.
const (
	// LabelPrefix starts every label of berth's; user labels may not.
	LabelPrefix = "berth."
	// LabelManaged is "true" on everything berth created.
	LabelManaged = "berth.managed"
	// LabelService names the owning emulation (ServiceECS, ...).
	LabelService = "berth.service"
	// LabelTask, LabelFunction and LabelJob are the owning ECS task,
	// Lambda function (and its environment) or Batch job.
	LabelTask     = "berth.task"
	LabelFunction = "berth.function"
	LabelJob      = "berth.job"
	// LabelContainer is the container's name in its task or job
	// definition, not the engine's container name.
	LabelContainer = "berth.container"
	// LabelRole tells helper containers (RoleSidecar) from the user's.
	LabelRole = "berth.role"
	// LabelInstance names the berth (by its data) that made the
	// container, so that berths sharing an engine leave one another's
	// containers alone when they clean up after a restart.
	LabelInstance = "berth.instance"
)

// Owning services and roles.
const (
	ServiceECS      = "ecs"
	ServiceLambda   = "lambda"
	ServiceBatch    = "batch"
	ServiceLauncher = "launcher" // what the runtime itself makes (the sidecar image)

	RoleSidecar = "sidecar"
)

// Owner is what a container belongs to, written as berth.* labels.
type Owner struct {
	Service   string
	Task      string
	Function  string
	Job       string
	Container string
	Role      string
	Instance  string
}

// Labels returns o as labels, berth.managed=true included; empty fields
// are left out.
func (o Owner) Labels() map[string]string {
	l := map[string]string{LabelManaged: "true"}
	for k, v := range map[string]string{
		LabelService: o.Service, LabelTask: o.Task, LabelFunction: o.Function,
		LabelJob: o.Job, LabelContainer: o.Container, LabelRole: o.Role, LabelInstance: o.Instance,
	} {
		if v != "" {
			l[k] = v
		}
	}
	return l
}

// OwnerOf reads an Owner back from labels.
func OwnerOf(labels map[string]string) Owner {
	return Owner{
		Service: labels[LabelService], Task: labels[LabelTask], Function: labels[LabelFunction],
		Job: labels[LabelJob], Container: labels[LabelContainer], Role: labels[LabelRole],
		Instance: labels[LabelInstance],
	}
}

// Managed reports whether labels mark something berth created.
func Managed(labels map[string]string) bool { return labels[LabelManaged] == "true" }

// RegistryAuth is what the engine presents to the registry for a pull. The
// ECS, Lambda and Batch layers pass a short-lived registry token of the
// user who launched the container (user "AWS", password the token, as
// `aws ecr get-login-password` gives it), so that repository policies
// apply to launches as they do to pulls.
type RegistryAuth struct {
	Username string
	Password string
}
