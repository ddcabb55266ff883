package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/internal/miniotest"
	"github.com/berth-dev/berth/internal/pgtest"
)

// roundRobin is a test-only load balancer in front of replicas: a reverse
// proxy on 127.0.0.1 that sends each request to the next replica in turn.
// It keeps the Host header the client sent, so the upload locations and
// token realms berth hands out name the proxy, as they would name a real
// load balancer.
type roundRobin struct {
	// Addr is the proxy's host:port, the registry clients are given.
	Addr string
	next atomic.Uint64
	hits []atomic.Int64 // requests sent to each replica
}

func newRoundRobin(t *testing.T, srvs []*server) *roundRobin {
	t.Helper()
	rr := &roundRobin{hits: make([]atomic.Int64, len(srvs))}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			i := (rr.next.Add(1) - 1) % uint64(len(srvs))
			rr.hits[i].Add(1)
			// Not SetURL, which would send the replica's address as
			// the Host: Out.Host stays the one the client used.
			r.Out.URL.Scheme, r.Out.URL.Host = "http", srvs[i].Addr
		},
		FlushInterval: -1, // stream blobs as the replica writes them
	}
	ts := httptest.NewServer(proxy)
	t.Cleanup(ts.Close)
	rr.Addr = ts.Listener.Addr().String()
	return rr
}

// spread is how many requests each replica got, e.g. "[41 40 40]".
func (rr *roundRobin) spread() []int64 {
	out := make([]int64, len(rr.hits))
	for i := range rr.hits {
		out[i] = rr.hits[i].Load()
	}
	return out
}

// checkSpread fails the test unless every replica served requests.
func (rr *roundRobin) checkSpread(t *testing.T) {
	t.Helper()
	hits := rr.spread()
	t.Logf("requests per replica through the round robin: %v", hits)
	if slices.Contains(hits, 0) {
		t.Errorf("a replica served no request through the round robin: %v", hits)
	}
}

// kill ends the server with SIGKILL, as a crash would: requests in flight
// are cut off and nothing is drained or flushed. The test's cleanup then
// has nothing to stop.
func (s *server) kill(t *testing.T) {
	t.Helper()
	s.stopped = true
	if err := s.cmd.Process.Kill(); err != nil {
		t.Fatalf("killing server %s: %v", s.Addr, err)
	}
	<-s.done
	t.Logf("server %s killed: %v", s.Addr, s.err)
}

// envValue is the value of variable key in env, a list of KEY=VALUE.
func envValue(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// loginAll logs the test's clients (docker, skopeo) in to every address
// as user with password, in one config.json, as loginBasic does for one.
func loginAll(t *testing.T, user, password string, addrs ...string) {
	t.Helper()
	entry := map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password))}
	auths := map[string]any{}
	for _, a := range addrs {
		auths[a] = entry
	}
	config, _ := json.Marshal(map[string]any{"auths": auths})
	dir := t.TempDir()
	write(t, filepath.Join(dir, "config.json"), string(config))
	t.Setenv("DOCKER_CONFIG", dir)
	t.Setenv("REGISTRY_AUTH_FILE", filepath.Join(dir, "config.json"))
}

// addrs are the servers' addresses.
func addrs(srvs []*server) []string {
	out := make([]string, len(srvs))
	for i, s := range srvs {
		out[i] = s.Addr
	}
	return out
}

// TestReplicaConformance runs the OCI conformance suite, for the 1.1
// specification and the development head, against three replicas on
// PostgreSQL and S3 through a round robin that sends every request to the
// next replica: an upload's POST, PATCHes and PUT, and a push and the
// pull that checks it, land on different replicas. Every check must pass,
// as against one server (TestConformance).
func TestReplicaConformance(t *testing.T) {
	bin := requireTool(t, "conformance")
	for _, version := range []string{"1.1", "dev"} {
		t.Run("OCI_VERSION="+version, func(t *testing.T) {
			srvs, _ := replicas(t, s3Env(t, false))
			rr := newRoundRobin(t, srvs)
			token := registryToken(t, rr.Addr, srvs[0].adminKey(t))
			runConformance(t, bin, rr.Addr, version, "OCI_USERNAME=AWS", "OCI_PASSWORD="+token)
			rr.checkSpread(t)
		})
	}
}

// TestReplicaClients: docker pushes an image it built, and skopeo copies
// an image and a two-platform index, through a round robin of three
// replicas, so the blob checks, upload chunks and manifests of one push
// land on different replicas; then each is pulled by digest from every
// replica directly and comes back whole, with the digest pushed.
func TestReplicaClients(t *testing.T) {
	requireDocker(t)
	skopeo := requireTool(t, "skopeo")
	srvs, _ := replicas(t, s3Env(t, false))
	rr := newRoundRobin(t, srvs)
	token := registryToken(t, rr.Addr, srvs[0].adminKey(t))
	loginAll(t, "AWS", token, append(addrs(srvs), rr.Addr)...)

	t.Run("docker", func(t *testing.T) {
		// Two layers of random bytes and a label, FROM scratch: nothing
		// is pulled from the internet.
		dir := t.TempDir()
		write(t, filepath.Join(dir, "big"), string(chunk(31, 3<<20)))
		write(t, filepath.Join(dir, "small"), string(chunk(32, 200<<10)))
		write(t, filepath.Join(dir, "Dockerfile"), "FROM scratch\nCOPY big /big\nCOPY small /small\n")
		tag := rr.Addr + "/clients/docker:1"
		label := "berth.e2e.test=" + t.Name() + "-" + randomHex(t)
		run(t, dockerTimeout, "docker", "build", "--label", label, "-t", tag, dir)
		id := strings.TrimSpace(run(t, dockerTimeout, "docker", "image", "inspect", "--format", "{{.Id}}", tag))
		t.Cleanup(func() { removeImage(t, id) })

		run(t, dockerTimeout, "docker", "push", tag)
		_, pushed, _ := strings.Cut(repoDigest(t, tag), "@")
		for _, s := range srvs {
			// Removed by id, so each pull fetches every layer again.
			removeImage(t, id)
			ref := s.Addr + "/clients/docker@" + pushed
			run(t, dockerTimeout, "docker", "pull", ref)
			got := strings.TrimSpace(run(t, dockerTimeout, "docker", "image", "inspect", "--format", "{{.Id}}", ref))
			if got != id {
				t.Errorf("docker pull %s gave image %s; pushed %s", ref, got, id)
			}
		}
	})

	t.Run("skopeo", func(t *testing.T) {
		for _, src := range testArtifacts(t) {
			remote := "docker://" + rr.Addr + "/clients/skopeo/" + src.Ref
			run(t, clientTimeout, skopeo, "copy", "--insecure-policy", "--all", "--preserve-digests",
				"--dest-tls-verify=false", "oci:"+src.Dir+":"+src.Ref, remote+":v1")
			for _, s := range srvs {
				out := filepath.Join(t.TempDir(), "out")
				run(t, clientTimeout, skopeo, "copy", "--insecure-policy", "--all", "--preserve-digests", "--src-tls-verify=false",
					"docker://"+s.Addr+"/clients/skopeo/"+src.Ref+"@"+src.Root.Digest.String(), "oci:"+out+":"+src.Ref)
				compareLayout(t, src, out, src.Ref)
			}
		}
	})
	rr.checkSpread(t)
}

// metricSum is the sum over servers of the samples of the Prometheus
// metric name (of every label set) on their /metrics.
func metricSum(t *testing.T, srvs []*server, name string) float64 {
	t.Helper()
	var sum float64
	for _, s := range srvs {
		resp, body := send(t, http.MethodGet, "http://"+s.Addr+"/metrics", nil, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /metrics on %s: %s", s.Addr, resp.Status)
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
				continue
			}
			v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
			if err != nil {
				t.Fatalf("/metrics on %s: %q: %v", s.Addr, line, err)
			}
			sum += v
		}
	}
	return sum
}

// replicaImage is an image pushed for a replica test: a config and one
// layer of its own, and the manifest naming them.
type replicaImage struct {
	tag                   string
	config, layer         []byte
	manifest              []byte
	digest                digest.Digest
	configDigest, layerDg digest.Digest
}

// newReplicaImage makes image i of a test, of a layer of size bytes.
func newReplicaImage(i, size int) *replicaImage {
	im := &replicaImage{
		tag:    fmt.Sprintf("v%d", i),
		config: fmt.Appendf(nil, `{"architecture":"amd64","os":"linux","variant":"%d"}`, i),
		layer:  chunk(byte(100+i), size),
	}
	im.configDigest, im.layerDg = digest.FromBytes(im.config), digest.FromBytes(im.layer)
	im.manifest = imageManifest(im.configDigest, im.layerDg, len(im.config), len(im.layer))
	im.digest = digest.FromBytes(im.manifest)
	return im
}

var manifestType = map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}

// push uploads im's blobs and manifest through srv.
func (im *replicaImage) push(t *testing.T, srv *server, auth map[string]string, repo string) {
	t.Helper()
	pushBlob(t, srv, auth, repo, im.config)
	pushBlob(t, srv, auth, repo, im.layer)
	if resp, body := send(t, http.MethodPut, "http://"+srv.Addr+"/v2/"+repo+"/manifests/"+im.tag, im.manifest, merge(auth, manifestType)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT %s:%s on %s: %s %s", repo, im.tag, srv.Addr, resp.Status, body)
	}
}

// pullWhole checks that im pulls whole from srv: its manifest by tag and
// every blob, byte for byte.
func (im *replicaImage) pullWhole(t *testing.T, srv *server, auth map[string]string, repo string) {
	t.Helper()
	for path, want := range map[string][]byte{
		"manifests/" + im.tag:               im.manifest,
		"blobs/" + im.configDigest.String(): im.config,
		"blobs/" + im.layerDg.String():      im.layer,
	} {
		resp, body := send(t, http.MethodGet, "http://"+srv.Addr+"/v2/"+repo+"/"+path, nil, auth)
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
			t.Errorf("GET %s/%s on %s: %s, %d bytes; want the %d bytes pushed", repo, path, srv.Addr, resp.Status, len(body), len(want))
		}
	}
}

// housekeepingMetrics are the counters of what lifecycle enforcement and
// garbage collection did.
var housekeepingMetrics = []string{"berth_lifecycle_images_total", "berth_gc_blobs_deleted_total", "berth_gc_bytes_reclaimed_total"}

// TestReplicaHousekeepingOnce: lifecycle enforcement and garbage
// collection scheduled on all three replicas at once, every few hundred
// milliseconds, act exactly once, also when the replica doing them stops
// and another takes them over. A policy that keeps the four newest of six
// images, then one that keeps the two newest, expire four images, each
// once: the replicas' lifecycle counters add up to four and the index
// holds the two. Collection frees each garbage blob once, the planted
// orphans and the expired images' blobs: the replicas' counters add up to
// those and the bucket holds exactly the kept images' bytes. Nothing
// still referenced is deleted: the kept images pull whole from every
// replica still up.
func TestReplicaHousekeepingOnce(t *testing.T) {
	storage := s3Env(t, false)
	m, bucket := miniotest.Shared(t), envValue(storage, "BERTH_STORAGE_S3_BUCKET")
	srvs, _ := replicas(t, append(storage, "BERTH_LIFECYCLE_INTERVAL=300ms", "BERTH_GC_INTERVAL=250ms", "BERTH_GC_GRACE=1s"))
	admin := srvs[0].adminKey(t)
	auth := basic(admin.ID, admin.Secret)
	const repo, images, keep = "housekeeping/app", 6, 2
	ctx := t.Context()

	live := slices.Clone(srvs)
	stopped := map[string]float64{} // the counters of replicas stopped
	counter := func(name string) float64 { return metricSum(t, live, name) + stopped[name] }

	// One push after another, each through the next replica.
	var pushed []*replicaImage
	for i := range images {
		im := newReplicaImage(i, 3000+i)
		im.push(t, srvs[i%3], auth, repo)
		pushed = append(pushed, im)
	}
	var orphans int
	var orphanBytes int64
	plant := func(n int) {
		for range n {
			b := chunk(byte(200+orphans), 500+orphans)
			pushBlob(t, live[orphans%len(live)], auth, repo, b)
			orphans++
			orphanBytes += int64(len(b))
		}
	}
	// expireTo puts a policy that keeps the newest n images and waits
	// until the index holds them and collection has freed the rest and
	// the orphans.
	expireTo := func(n int) {
		t.Helper()
		policy := fmt.Sprintf(`{"rules":[{"rulePriority":1,"description":"keep the newest","selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":%d},"action":{"type":"expire"}}]}`, n)
		if _, err := ecrAt(live[0], admin).PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(repo), LifecyclePolicyText: aws.String(policy)}); err != nil {
			t.Fatal(err)
		}
		var kept int64
		for _, im := range pushed[images-n:] {
			kept += int64(len(im.config) + len(im.layer))
		}
		expired := images - n
		start := time.Now()
		// The longest wait is a takeover: another replica seeks the
		// work every 10 seconds.
		waitFor(t, 60*time.Second, fmt.Sprintf("%d images expired and collected", expired), func() bool {
			return counter("berth_lifecycle_images_total") >= float64(expired) &&
				counter("berth_gc_blobs_deleted_total") >= float64(orphans+2*expired) &&
				m.StoredBytes(t, bucket) == kept
		})
		t.Logf("%d images expired and %d orphans collected in %v", expired, orphans, time.Since(start).Round(100*time.Millisecond))
	}

	plant(3)
	expireTo(4)
	// Stop the replicas doing the work; another takes it over.
	for _, s := range slices.Clone(live) {
		if metricSum(t, []*server{s}, "berth_lifecycle_images_total")+metricSum(t, []*server{s}, "berth_gc_blobs_deleted_total") == 0 {
			continue
		}
		for _, name := range housekeepingMetrics {
			stopped[name] += metricSum(t, []*server{s}, name)
		}
		s.Stop(t)
		live = slices.DeleteFunc(live, func(l *server) bool { return l == s })
		t.Logf("stopped %s, which did the housekeeping so far", s.Addr)
	}
	if len(live) == 0 {
		t.Fatal("no replica left")
	}
	plant(2)
	expireTo(keep)
	// A few more rounds of both on every replica change nothing.
	time.Sleep(time.Second)

	for _, s := range live {
		t.Logf("replica %s: %v images expired, %v blobs and %v bytes freed", s.Addr,
			metricSum(t, []*server{s}, housekeepingMetrics[0]), metricSum(t, []*server{s}, housekeepingMetrics[1]),
			metricSum(t, []*server{s}, housekeepingMetrics[2]))
	}
	var expiredBytes, keptBytes int64
	for i, im := range pushed {
		if i < images-keep {
			expiredBytes += int64(len(im.config) + len(im.layer))
		} else {
			keptBytes += int64(len(im.config) + len(im.layer))
		}
	}
	if n := counter("berth_lifecycle_images_total"); n != images-keep {
		t.Errorf("the replicas' lifecycle counters add up to %v images; want %d, each expired once", n, images-keep)
	}
	if n, want := counter("berth_gc_blobs_deleted_total"), orphans+2*(images-keep); n != float64(want) {
		t.Errorf("the replicas' collection counters add up to %v blobs deleted; want %d (%d orphans, %d of expired images), each once", n, want, orphans, 2*(images-keep))
	}
	if n := counter("berth_gc_bytes_reclaimed_total"); n != float64(orphanBytes+expiredBytes) {
		t.Errorf("the replicas' collection counters add up to %v bytes freed; want %d", n, orphanBytes+expiredBytes)
	}
	if n := m.StoredBytes(t, bucket); n != keptBytes {
		t.Errorf("the bucket holds %d bytes; want the kept images' %d", n, keptBytes)
	}
	out, err := ecrAt(live[0], admin).DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo)})
	if err != nil {
		t.Fatal(err)
	}
	var left, want []string
	for _, d := range out.ImageDetails {
		left = append(left, aws.ToString(d.ImageDigest))
	}
	for _, im := range pushed[images-keep:] {
		want = append(want, im.digest.String())
	}
	slices.Sort(left)
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("the index holds %v; want the %d newest %v", left, keep, want)
	}
	for _, s := range live {
		for _, im := range pushed[images-keep:] {
			im.pullWhole(t, s, auth, repo)
		}
	}
}

// patch sends one chunk of an upload at location to srv, starting at
// byte start, and returns the response's Location.
func patch(t *testing.T, srv *server, auth map[string]string, location string, start int, b []byte) string {
	t.Helper()
	resp, body := send(t, http.MethodPatch, "http://"+srv.Addr+location, b,
		merge(auth, map[string]string{"Content-Range": fmt.Sprintf("%d-%d", start, start+len(b)-1)}))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("PATCH %d bytes at %d on %s: %s %s", len(b), start, srv.Addr, resp.Status, body)
	}
	return resp.Header.Get("Location")
}

// TestReplicaKilledDuringUploads: chunked uploads begun on replica A,
// some with chunks already written and each with a chunk still streaming
// to A, are continued on B and completed on C after A is killed with
// SIGKILL. B reports each upload's size as of its last whole chunk (the
// cut-off chunk left no trace), and the blobs committed from the bytes
// sent to A, B and C are whole on every live replica.
func TestReplicaKilledDuringUploads(t *testing.T) {
	srvs, _ := replicas(t, s3Env(t, false))
	a, b, c := srvs[0], srvs[1], srvs[2]
	admin := a.adminKey(t)
	auth := basic(admin.ID, admin.Secret)
	const repo = "killed/app"

	// Per upload: the bytes written to A before the kill, and the bytes
	// of the chunk A is reading when killed. 5 MiB is a tail segment
	// short of a part; 5 MiB then 4 MiB fills a part, which A may have
	// sent to S3 when it dies.
	uploads := []struct{ done, inflight, total int }{
		{0, 1 << 20, 2<<20 + 1},
		{5 << 20, 4 << 20, 11<<20 + 5},
		{6<<20 + 3, 2 << 20, 9 << 20},
		{3 << 20, 6 << 20, 12 << 20},
	}
	type state struct {
		content  []byte
		location string
		writer   *io.PipeWriter
		sent     chan error // the in-flight request's end
	}
	states := make([]*state, len(uploads))
	for i, u := range uploads {
		st := &state{content: chunk(byte(40+i), u.total), sent: make(chan error, 1)}
		states[i] = st
		resp, body := send(t, http.MethodPost, "http://"+a.Addr+"/v2/"+repo+"/blobs/uploads/", nil, auth)
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST upload on A: %s %s", resp.Status, body)
		}
		st.location = resp.Header.Get("Location")
		if u.done > 0 {
			st.location = patch(t, a, auth, st.location, 0, st.content[:u.done])
		}

		// The next chunk, declared whole, streams to A while the test
		// holds back its end.
		r, w := io.Pipe()
		st.writer = w
		rest := u.total - u.done
		req, err := http.NewRequest(http.MethodPatch, "http://"+a.Addr+st.location, r)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range auth {
			req.Header.Set(k, v)
		}
		req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", u.done, u.total-1))
		req.ContentLength = int64(rest)
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
				err = fmt.Errorf("answered %s", resp.Status)
			}
			st.sent <- err
		}()
		if _, err := w.Write(st.content[u.done : u.done+u.inflight]); err != nil {
			t.Fatalf("streaming upload %d to A: %v", i, err)
		}
	}
	// Time for A to take in what was sent (and send a full part on to
	// S3) before it dies; the test holds either way.
	time.Sleep(500 * time.Millisecond)
	a.kill(t)
	for i, st := range states {
		st.writer.Close()
		t.Logf("upload %d's chunk in flight to A: %v", i, <-st.sent)
	}

	for i, u := range uploads {
		st := states[i]
		resp, body := send(t, http.MethodGet, "http://"+b.Addr+st.location, nil, auth)
		want := fmt.Sprintf("0-%d", max(u.done-1, 0))
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Range") != want {
			t.Fatalf("upload %d's status on B after A died: %s Range %q %s; want 204 Range %q, the chunks A finished",
				i, resp.Status, resp.Header.Get("Range"), body, want)
		}
		// B takes the chunk A lost, C the rest and the digest.
		mid := u.done + u.inflight
		loc := patch(t, b, auth, resp.Header.Get("Location"), u.done, st.content[u.done:mid])
		d := digest.FromBytes(st.content)
		resp, body = send(t, http.MethodPut, "http://"+c.Addr+withQuery(loc, "digest="+d.String()), st.content[mid:],
			merge(auth, map[string]string{"Content-Range": fmt.Sprintf("%d-%d", mid, u.total-1)}))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("upload %d's last chunk on C: %s %s", i, resp.Status, body)
		}
		for _, s := range srvs[1:] {
			resp, body := send(t, http.MethodGet, "http://"+s.Addr+"/v2/"+repo+"/blobs/"+d.String(), nil, auth)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, st.content) {
				t.Errorf("upload %d's blob on %s: %s, %d bytes with digest %s; want the %d bytes sent, %s",
					i, s.Addr, resp.Status, len(body), digest.FromBytes(body), u.total, d)
			}
		}
	}
}

// outage counts the registry requests a PostgreSQL restart made
// replicas answer with 503 UNAVAILABLE, and when the last such answer
// came.
type outage struct {
	mu       sync.Mutex
	count    int
	last     time.Time
	requests int
	// up is when the index was back; recovered when the first request
	// after it succeeded.
	up, recovered time.Time
}

// do sends a request to srv until it is answered with want, retrying
// while it is answered 503 UNAVAILABLE, for at most a minute; any other
// answer fails the test. It may run on any goroutine.
func (o *outage) do(t *testing.T, srv *server, method, path string, body []byte, header map[string]string, want int) ([]byte, bool) {
	client := &http.Client{Timeout: time.Minute}
	deadline := time.Now().Add(time.Minute)
	for {
		req, err := http.NewRequest(method, "http://"+srv.Addr+path, bytes.NewReader(body))
		if err != nil {
			t.Error(err)
			return nil, false
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("%s %s on %s: %v", method, path, srv.Addr, err)
			return nil, false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		o.mu.Lock()
		o.requests++
		unavailable := resp.StatusCode == http.StatusServiceUnavailable && bytes.Contains(b, []byte("UNAVAILABLE"))
		if unavailable {
			o.count++
			o.last = time.Now()
		} else if resp.StatusCode == want && !o.up.IsZero() && o.recovered.IsZero() {
			o.recovered = time.Now()
		}
		o.mu.Unlock()
		switch {
		case resp.StatusCode == want:
			return b, true
		case !unavailable:
			t.Errorf("%s %s on %s: %s %s; want %d, or 503 UNAVAILABLE while the index restarts", method, path, srv.Addr, resp.Status, b, want)
			return nil, false
		case time.Now().After(deadline):
			t.Errorf("%s %s on %s: still 503 UNAVAILABLE after a minute of retries", method, path, srv.Addr)
			return nil, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReplicaPostgresRestart: pushes and pulls run through the three
// replicas in turn while their PostgreSQL restarts. Every request is
// answered either as it would be with the index up or with 503
// UNAVAILABLE, and succeeds when retried; afterwards every tag pushed
// resolves to its image on every replica. The log says how many requests
// met the outage and how long after PostgreSQL was back the last did.
func TestReplicaPostgresRestart(t *testing.T) {
	pg := pgtest.Start(t)
	srvs, _ := replicasOn(t, pg, s3Env(t, false))
	admin := srvs[0].adminKey(t)
	auth := basic(admin.ID, admin.Secret)
	const repo, workers, rounds = "restart/app", 3, 40

	var o outage
	var done atomic.Int64 // rounds finished
	pushed := make([][]*replicaImage, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				n := w*rounds + i
				im := newReplicaImage(n, 2000+n)
				im.tag = fmt.Sprintf("w%d-%d", w, i)
				pushTo, pullFrom := srvs[n%3], srvs[(n+1)%3]
				// A failed step ends the worker: the next would fail
				// because of it.
				for _, step := range []struct {
					method, path string
					body         []byte
					header       map[string]string
				}{
					{http.MethodPost, "/v2/" + repo + "/blobs/uploads/?digest=" + im.configDigest.String(), im.config, auth},
					{http.MethodPost, "/v2/" + repo + "/blobs/uploads/?digest=" + im.layerDg.String(), im.layer, auth},
					{http.MethodPut, "/v2/" + repo + "/manifests/" + im.tag, im.manifest, merge(auth, manifestType)},
				} {
					if _, ok := o.do(t, pushTo, step.method, step.path, step.body, step.header, http.StatusCreated); !ok {
						return
					}
				}
				pushed[w] = append(pushed[w], im)
				m, ok := o.do(t, pullFrom, http.MethodGet, "/v2/"+repo+"/manifests/"+im.tag, nil, auth, http.StatusOK)
				if ok && !bytes.Equal(m, im.manifest) {
					t.Errorf("GET %s on %s: %d bytes, not the manifest pushed", im.tag, pullFrom.Addr, len(m))
				}
				l, ok := o.do(t, pullFrom, http.MethodGet, "/v2/"+repo+"/blobs/"+im.layerDg.String(), nil, auth, http.StatusOK)
				if ok && !bytes.Equal(l, im.layer) {
					t.Errorf("GET layer of %s on %s: %d bytes, not the %d pushed", im.tag, pullFrom.Addr, len(l), len(im.layer))
				}
				done.Add(1)
			}
		})
	}

	// The restart comes once a third of the rounds are done, so
	// requests run before, during and after it.
	for done.Load() < workers*rounds/3 && !t.Failed() {
		time.Sleep(10 * time.Millisecond)
	}
	down := time.Now()
	o.mu.Lock()
	before := o.requests
	o.mu.Unlock()
	pg.Restart(t)
	up := time.Now()
	o.mu.Lock()
	o.up = up
	o.mu.Unlock()
	wg.Wait()

	o.mu.Lock()
	recovery := "none answered 503 after it was back"
	if o.last.After(up) {
		recovery = fmt.Sprintf("the last 503 came %v after it was back", o.last.Sub(up).Round(time.Millisecond))
	}
	t.Logf("%d requests (%d before the restart); PostgreSQL down for %v; %d answered 503 UNAVAILABLE and succeeded on retry; the first success came %v after it was back; %s",
		o.requests, before, up.Sub(down).Round(time.Millisecond), o.count, o.recovered.Sub(up).Round(time.Millisecond), recovery)
	o.mu.Unlock()

	total := 0
	for w := range pushed {
		for _, im := range pushed[w] {
			total++
			for _, s := range srvs {
				resp, body := send(t, http.MethodHead, "http://"+s.Addr+"/v2/"+repo+"/manifests/"+im.tag, nil, auth)
				if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != im.digest.String() {
					t.Errorf("HEAD %s on %s after the restart: %s %s %s; want %s", im.tag, s.Addr, resp.Status, resp.Header.Get("Docker-Content-Digest"), body, im.digest)
				}
			}
		}
	}
	if total != workers*rounds {
		t.Errorf("%d of %d images pushed", total, workers*rounds)
	}
}
