package ecr_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/berth-dev/berth/ecr"
	"github.com/berth-dev/berth/internal/clocktest"
	"github.com/berth-dev/berth/lifecycle"
	"github.com/berth-dev/berth/metadata/sqlite"
)

const keepTwo = `{"rules":[{"rulePriority":1,"description":"keep the two newest","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":2},"action":{"type":"expire"}}]}`

func TestLifecyclePolicyAndPreview(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	client, _, srv := newAPIAt(t, clock.Now)
	ctx := t.Context()
	name := aws.String("app")
	if _, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: name}); err != nil {
		t.Fatal(err)
	}
	var pushed []pushed
	for _, seed := range []string{"a", "b", "c", "d"} {
		pushed = append(pushed, pushImage(t, srv.URL, "app", "t-"+seed, seed))
		clock.Advance(time.Second) // distinct push times
	}

	_, err := client.GetLifecyclePolicy(ctx, &sdkecr.GetLifecyclePolicyInput{RepositoryName: name})
	assertMessage(t, err, "LifecyclePolicyNotFoundException", "Lifecycle policy does not exist for the repository with name 'app' in the registry with id '123456789012'")
	_, err = client.PutLifecyclePolicy(ctx, &sdkecr.PutLifecyclePolicyInput{RepositoryName: name, LifecyclePolicyText: aws.String(strings.Replace(keepTwo, `"any"`, `"sometimes"`, 1))})
	assertCode(t, err, "InvalidParameterException")
	if _, err := client.PutLifecyclePolicy(ctx, &sdkecr.PutLifecyclePolicyInput{RepositoryName: name, LifecyclePolicyText: aws.String(keepTwo)}); err != nil {
		t.Fatal(err)
	}
	got, err := client.GetLifecyclePolicy(ctx, &sdkecr.GetLifecyclePolicyInput{RepositoryName: name})
	if err != nil || aws.ToString(got.LifecyclePolicyText) != keepTwo {
		t.Fatalf("GetLifecyclePolicy = %+v, %v", got, err)
	}

	_, err = client.GetLifecyclePolicyPreview(ctx, &sdkecr.GetLifecyclePolicyPreviewInput{RepositoryName: name})
	assertCode(t, err, "LifecyclePolicyPreviewNotFoundException")
	start, err := client.StartLifecyclePolicyPreview(ctx, &sdkecr.StartLifecyclePolicyPreviewInput{RepositoryName: name})
	if err != nil || start.Status != types.LifecyclePolicyPreviewStatusInProgress {
		t.Fatalf("StartLifecyclePolicyPreview = %+v, %v", start, err)
	}
	waiter := sdkecr.NewLifecyclePolicyPreviewCompleteWaiter(client, func(o *sdkecr.LifecyclePolicyPreviewCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 50*time.Millisecond
	})
	if err := waiter.Wait(ctx, &sdkecr.GetLifecyclePolicyPreviewInput{RepositoryName: name}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var digests []string
	var summary *types.LifecyclePolicyPreviewSummary
	p := sdkecr.NewGetLifecyclePolicyPreviewPaginator(client, &sdkecr.GetLifecyclePolicyPreviewInput{RepositoryName: name, MaxResults: aws.Int32(1)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		summary = page.Summary
		for _, r := range page.PreviewResults {
			if r.Action.Type != types.ImageActionTypeExpire || aws.ToInt32(r.AppliedRulePriority) != 1 {
				t.Errorf("preview result %+v", r)
			}
			digests = append(digests, aws.ToString(r.ImageDigest))
		}
	}
	if len(digests) != 2 || digests[0] != pushed[0].digest.String() || digests[1] != pushed[1].digest.String() || aws.ToInt32(summary.ExpiringImageTotalCount) != 2 {
		t.Errorf("preview expires %v (summary %+v); want the two oldest", digests, summary)
	}

	// A preview of another policy text, without changing the policy.
	keepOne := strings.Replace(keepTwo, `"countNumber":2`, `"countNumber":1`, 1)
	if _, err := client.StartLifecyclePolicyPreview(ctx, &sdkecr.StartLifecyclePolicyPreviewInput{RepositoryName: name, LifecyclePolicyText: aws.String(keepOne)}); err != nil {
		t.Fatal(err)
	}
	if err := waiter.Wait(ctx, &sdkecr.GetLifecyclePolicyPreviewInput{RepositoryName: name}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	prev, _ := client.GetLifecyclePolicyPreview(ctx, &sdkecr.GetLifecyclePolicyPreviewInput{RepositoryName: name})
	if len(prev.PreviewResults) != 3 || aws.ToString(prev.LifecyclePolicyText) != keepOne {
		t.Errorf("preview of another text = %d results, text %q", len(prev.PreviewResults), aws.ToString(prev.LifecyclePolicyText))
	}

	del, err := client.DeleteLifecyclePolicy(ctx, &sdkecr.DeleteLifecyclePolicyInput{RepositoryName: name})
	if err != nil || aws.ToString(del.LifecyclePolicyText) != keepTwo {
		t.Fatalf("DeleteLifecyclePolicy = %+v, %v", del, err)
	}
	_, err = client.DeleteLifecyclePolicy(ctx, &sdkecr.DeleteLifecyclePolicyInput{RepositoryName: name})
	assertCode(t, err, "LifecyclePolicyNotFoundException")
}

func TestUpdateImageStorageClass(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	client, _, srv := newAPIAt(t, clock.Now)
	ctx := t.Context()
	name := aws.String("app")
	if _, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: name}); err != nil {
		t.Fatal(err)
	}
	img := pushImage(t, srv.URL, "app", "v1", "a")
	archivedAt := clock.Advance(time.Hour)
	out, err := client.UpdateImageStorageClass(ctx, &sdkecr.UpdateImageStorageClassInput{RepositoryName: name, ImageId: &types.ImageIdentifier{ImageTag: aws.String("v1")}, TargetStorageClass: types.TargetStorageClassArchive})
	if err != nil || out.ImageStatus != types.ImageStatusArchived || aws.ToString(out.ImageId.ImageDigest) != img.digest.String() {
		t.Fatalf("UpdateImageStorageClass(ARCHIVE) = %+v, %v", out, err)
	}
	send(t, "GET", srv.URL+"/v2/app/manifests/v1", "", nil, http.StatusForbidden)
	active, _ := client.DescribeImages(ctx, &sdkecr.DescribeImagesInput{RepositoryName: name})
	archived, _ := client.DescribeImages(ctx, &sdkecr.DescribeImagesInput{RepositoryName: name, Filter: &types.DescribeImagesFilter{ImageStatus: types.ImageStatusFilterArchived}})
	if len(active.ImageDetails) != 0 || len(archived.ImageDetails) != 1 || archived.ImageDetails[0].ImageStatus != types.ImageStatusArchived || !aws.ToTime(archived.ImageDetails[0].LastArchivedAt).Equal(archivedAt) {
		t.Errorf("DescribeImages after archiving: active %+v archived %+v", active.ImageDetails, archived.ImageDetails)
	}
	out, err = client.UpdateImageStorageClass(ctx, &sdkecr.UpdateImageStorageClassInput{RepositoryName: name, ImageId: &types.ImageIdentifier{ImageDigest: aws.String(img.digest.String())}, TargetStorageClass: types.TargetStorageClassStandard})
	if err != nil || out.ImageStatus != types.ImageStatusActive {
		t.Fatalf("UpdateImageStorageClass(STANDARD) = %+v, %v", out, err)
	}
	send(t, "GET", srv.URL+"/v2/app/manifests/v1", "", nil, http.StatusOK)
	_, err = client.UpdateImageStorageClass(ctx, &sdkecr.UpdateImageStorageClassInput{RepositoryName: name, ImageId: &types.ImageIdentifier{ImageTag: aws.String("nope")}, TargetStorageClass: types.TargetStorageClassArchive})
	assertCode(t, err, "ImageNotFoundException")
}

// A preview is kept in the index, not in the process that was asked: a
// replica answers for a preview another started, and one left behind by a
// process that stopped before running it is run by the next process.
func TestLifecyclePreviewOnAnyReplica(t *testing.T) {
	client, store, srv := newAPI(t)
	ctx := t.Context()
	name := aws.String("app")
	if _, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: name}); err != nil {
		t.Fatal(err)
	}
	for _, seed := range []string{"a", "b", "c"} {
		pushImage(t, srv.URL, "app", "t-"+seed, seed)
	}
	// Another replica, whose previewer never runs: its process stops
	// right after it answers.
	stopped, err := ecr.New(ctx, store, nil, ecr.Config{AccountID: account, Access: allowAll{},
		Previews: lifecycle.NewPreviewer(store, lifecycle.NewRunner(store, nil), nil)})
	if err != nil {
		t.Fatal(err)
	}
	stoppedSrv := serve(t, stopped, nil)
	other := clientOf(stoppedSrv.URL)
	if _, err := other.StartLifecyclePolicyPreview(ctx, &sdkecr.StartLifecyclePolicyPreviewInput{RepositoryName: name, LifecyclePolicyText: aws.String(keepTwo)}); err != nil {
		t.Fatal(err)
	}
	got, err := client.GetLifecyclePolicyPreview(ctx, &sdkecr.GetLifecyclePolicyPreviewInput{RepositoryName: name})
	if err != nil || got.Status != types.LifecyclePolicyPreviewStatusInProgress || aws.ToString(got.LifecyclePolicyText) != keepTwo {
		t.Fatalf("GetLifecyclePolicyPreview on this replica = %+v, %v; want the other's preview, in progress", got, err)
	}
	_, err = client.StartLifecyclePolicyPreview(ctx, &sdkecr.StartLifecyclePolicyPreviewInput{RepositoryName: name, LifecyclePolicyText: aws.String(keepTwo)})
	assertCode(t, err, "LifecyclePolicyPreviewInProgressException")

	// The next process to run previews takes it up.
	runPreviews(t, store.(*sqlite.Store), time.Now)
	waiter := sdkecr.NewLifecyclePolicyPreviewCompleteWaiter(client, func(o *sdkecr.LifecyclePolicyPreviewCompleteWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 50*time.Millisecond
	})
	if err := waiter.Wait(ctx, &sdkecr.GetLifecyclePolicyPreviewInput{RepositoryName: name}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*sdkecr.Client{client, other} {
		got, err := c.GetLifecyclePolicyPreview(ctx, &sdkecr.GetLifecyclePolicyPreviewInput{RepositoryName: name})
		if err != nil || got.Status != types.LifecyclePolicyPreviewStatusComplete || len(got.PreviewResults) != 1 ||
			aws.ToInt32(got.Summary.ExpiringImageTotalCount) != 1 {
			t.Errorf("GetLifecyclePolicyPreview = %+v, %v; want one image expired", got, err)
		}
	}
}
