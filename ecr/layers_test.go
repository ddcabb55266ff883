package ecr_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/opencontainers/go-digest"
)

// The layer API pushes an image as the ECR API alone can: layers in parts,
// then PutImage; and its sessions are the registry's, so an upload started
// here finishes on /v2/.
func TestLayerAPI(t *testing.T) {
	client, _, srv := newAPI(t)
	ctx := t.Context()
	name := aws.String("app")
	if _, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: name}); err != nil {
		t.Fatal(err)
	}
	layer := bytes.Repeat([]byte("0123456789"), 1000)
	config := []byte(`{"architecture":"amd64","os":"linux"}`)

	upload := func(data []byte, parts ...int) string {
		t.Helper()
		start, err := client.InitiateLayerUpload(ctx, &sdkecr.InitiateLayerUploadInput{RepositoryName: name})
		if err != nil || aws.ToInt64(start.PartSize) != 10<<20 {
			t.Fatalf("InitiateLayerUpload = %+v, %v", start, err)
		}
		first := 0
		for _, end := range parts {
			out, err := client.UploadLayerPart(ctx, &sdkecr.UploadLayerPartInput{
				RepositoryName: name, UploadId: start.UploadId, LayerPartBlob: data[first:end],
				PartFirstByte: aws.Int64(int64(first)), PartLastByte: aws.Int64(int64(end - 1)),
			})
			if err != nil || aws.ToInt64(out.LastByteReceived) != int64(end-1) {
				t.Fatalf("UploadLayerPart [%d, %d) = %+v, %v", first, end, out, err)
			}
			first = end
		}
		return aws.ToString(start.UploadId)
	}

	id := upload(layer, 4000, len(layer))
	// A part that does not follow on, or whose bounds disagree with it.
	_, err := client.UploadLayerPart(ctx, &sdkecr.UploadLayerPartInput{RepositoryName: name, UploadId: aws.String(id), LayerPartBlob: []byte("x"), PartFirstByte: aws.Int64(5), PartLastByte: aws.Int64(5)})
	assertCode(t, err, "InvalidLayerPartException")
	_, err = client.UploadLayerPart(ctx, &sdkecr.UploadLayerPartInput{RepositoryName: name, UploadId: aws.String(id), LayerPartBlob: []byte("xy"), PartFirstByte: aws.Int64(int64(len(layer))), PartLastByte: aws.Int64(int64(len(layer)))})
	assertCode(t, err, "InvalidLayerPartException")
	_, err = client.CompleteLayerUpload(ctx, &sdkecr.CompleteLayerUploadInput{RepositoryName: name, UploadId: aws.String(id), LayerDigests: []string{digest.FromString("other").String()}})
	assertCode(t, err, "InvalidLayerException")

	// The mismatch ended that session; upload again and complete.
	id = upload(layer, len(layer))
	done, err := client.CompleteLayerUpload(ctx, &sdkecr.CompleteLayerUploadInput{RepositoryName: name, UploadId: aws.String(id), LayerDigests: []string{digest.FromBytes(layer).String()}})
	if err != nil || aws.ToString(done.LayerDigest) != digest.FromBytes(layer).String() {
		t.Fatalf("CompleteLayerUpload = %+v, %v", done, err)
	}
	_, err = client.CompleteLayerUpload(ctx, &sdkecr.CompleteLayerUploadInput{RepositoryName: name, UploadId: aws.String(id), LayerDigests: []string{digest.FromBytes(layer).String()}})
	assertCode(t, err, "LayerAlreadyExistsException")
	_, err = client.UploadLayerPart(ctx, &sdkecr.UploadLayerPartInput{RepositoryName: name, UploadId: aws.String("0123"), LayerPartBlob: []byte("x"), PartFirstByte: aws.Int64(0), PartLastByte: aws.Int64(0)})
	assertCode(t, err, "UploadNotFoundException")
	empty, _ := client.InitiateLayerUpload(ctx, &sdkecr.InitiateLayerUploadInput{RepositoryName: name})
	_, err = client.CompleteLayerUpload(ctx, &sdkecr.CompleteLayerUploadInput{RepositoryName: name, UploadId: empty.UploadId, LayerDigests: []string{digest.FromString("").String()}})
	assertCode(t, err, "EmptyUploadException")

	// Started here, finished on /v2/ with the last bytes.
	half := upload(config, 10)
	send(t, "PUT", srv.URL+"/v2/app/blobs/uploads/"+half+"?digest="+digest.FromBytes(config).String(), "", config[10:], http.StatusCreated)

	check, err := client.BatchCheckLayerAvailability(ctx, &sdkecr.BatchCheckLayerAvailabilityInput{RepositoryName: name,
		LayerDigests: []string{digest.FromBytes(layer).String(), digest.FromBytes(config).String(), digest.FromString("absent").String(), "bogus"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(check.Layers) != 3 || check.Layers[0].LayerAvailability != types.LayerAvailabilityAvailable || aws.ToInt64(check.Layers[0].LayerSize) != int64(len(layer)) ||
		check.Layers[1].LayerAvailability != types.LayerAvailabilityAvailable || check.Layers[2].LayerAvailability != types.LayerAvailabilityUnavailable ||
		len(check.Failures) != 1 || check.Failures[0].FailureCode != types.LayerFailureCodeInvalidLayerDigest {
		t.Errorf("BatchCheckLayerAvailability = %+v", check)
	}

	// PutImage over the uploaded layers; then the layer downloads.
	manifest := string(imageManifest(config, layer))
	if _, err := client.PutImage(ctx, &sdkecr.PutImageInput{RepositoryName: name, ImageManifest: aws.String(manifest), ImageTag: aws.String("v1")}); err != nil {
		t.Fatal(err)
	}
	url, err := client.GetDownloadUrlForLayer(ctx, &sdkecr.GetDownloadUrlForLayerInput{RepositoryName: name, LayerDigest: aws.String(digest.FromBytes(layer).String())})
	if err != nil || !strings.HasPrefix(aws.ToString(url.DownloadUrl), srv.URL+"/v2/app/blobs/") {
		t.Fatalf("GetDownloadUrlForLayer = %+v, %v", url, err)
	}
	resp, err := http.Get(aws.ToString(url.DownloadUrl))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, layer) {
		t.Errorf("downloaded %d bytes; want the %d-byte layer", len(got), len(layer))
	}
	_, err = client.GetDownloadUrlForLayer(ctx, &sdkecr.GetDownloadUrlForLayerInput{RepositoryName: name, LayerDigest: aws.String(digest.FromString("absent").String())})
	assertCode(t, err, "LayersNotFoundException")
}
