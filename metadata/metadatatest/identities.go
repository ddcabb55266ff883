package metadatatest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/berth-dev/berth/metadata"
)

const inlinePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:BatchGetImage","Resource":"*"}]}`

func testUsers(t *testing.T, s metadata.Store) {
	created := time.Unix(1_700_000_000, 123)
	alice := metadata.User{
		Name: "alice", ARN: "arn:aws:iam::123456789012:user/alice", CreatedAt: created,
		Policies: []string{"arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly", inlinePolicy},
	}
	mustCreateUser(t, s, alice)
	assertUser(t, s, alice)

	again := alice
	again.ARN, again.Policies = "arn:aws:iam::123456789012:user/impostor", nil
	if err := s.CreateUser(t.Context(), again); !errors.Is(err, metadata.ErrUserExists) {
		t.Errorf("CreateUser of a taken name: err = %v; want ErrUserExists", err)
	}
	assertUser(t, s, alice) // unchanged

	// A zero CreatedAt is the time of the call; no ARN and no policies are fine.
	before := time.Now()
	mustCreateUser(t, s, metadata.User{Name: "bob"})
	bob, err := s.User(t.Context(), "bob")
	if err != nil {
		t.Fatalf("User(bob): %v", err)
	}
	if bob.ARN != "" || len(bob.Policies) != 0 ||
		bob.CreatedAt.Before(before.Add(-time.Minute)) || bob.CreatedAt.After(time.Now().Add(time.Minute)) {
		t.Errorf("User(bob) = %+v; want no ARN, no policies, created about %v", bob, before)
	}

	for _, name := range []string{"never created", "Alice", ""} {
		if _, err := s.User(t.Context(), name); !errors.Is(err, metadata.ErrUserUnknown) {
			t.Errorf("User(%q): err = %v; want ErrUserUnknown", name, err)
		}
	}

	for _, name := range slices.Backward(pagingNames) {
		mustCreateUser(t, s, metadata.User{Name: name})
	}
	users, err := s.Users(t.Context())
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Name)
	}
	want := append(slices.Clone(pagingNames), "alice", "bob")
	slices.Sort(want)
	assertStrings(t, "Users", names, want)
	for _, u := range users {
		if u.Name == "alice" && !equalUser(u, alice) {
			t.Errorf("Users lists alice as %+v; want %+v", u, alice)
		}
	}

	if err := s.DeleteUser(t.Context(), "bob"); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, err := s.User(t.Context(), "bob"); !errors.Is(err, metadata.ErrUserUnknown) {
		t.Errorf("User after DeleteUser: err = %v; want ErrUserUnknown", err)
	}
	if err := s.DeleteUser(t.Context(), "bob"); !errors.Is(err, metadata.ErrUserUnknown) {
		t.Errorf("DeleteUser again: err = %v; want ErrUserUnknown", err)
	}
	// The name is free again.
	mustCreateUser(t, s, metadata.User{Name: "bob"})
}

func testUserPolicies(t *testing.T, s metadata.Store) {
	u := metadata.User{Name: "ci", CreatedAt: time.Unix(1_700_000_000, 0), Policies: []string{"first"}}
	mustCreateUser(t, s, u)
	for _, policies := range [][]string{
		// Order is kept; duplicates are the caller's business.
		{inlinePolicy, "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser", "z", "a"},
		{`{"unicode":"ü ✓ \u0000"}`},
		nil,
	} {
		if err := s.PutUserPolicies(t.Context(), "ci", policies); err != nil {
			t.Fatalf("PutUserPolicies(%q): %v", policies, err)
		}
		u.Policies = policies
		assertUser(t, s, u)
	}
	if err := s.PutUserPolicies(t.Context(), "nobody", []string{inlinePolicy}); !errors.Is(err, metadata.ErrUserUnknown) {
		t.Errorf("PutUserPolicies of an unknown user: err = %v; want ErrUserUnknown", err)
	}
	if _, err := s.User(t.Context(), "nobody"); !errors.Is(err, metadata.ErrUserUnknown) {
		t.Errorf("PutUserPolicies created a user: err = %v", err)
	}
}

func testAccessKeys(t *testing.T, s metadata.Store) {
	mustCreateUser(t, s, metadata.User{Name: "alice"})
	mustCreateUser(t, s, metadata.User{Name: "bob"})
	k1 := accessKey("AKIAAAAAAAAAAAAAAAA1", "alice", time.Unix(1_700_000_000, 0))
	k2 := accessKey("AKIAAAAAAAAAAAAAAAA0", "alice", time.Unix(1_700_000_100, 0))
	k3 := accessKey("AKIAAAAAAAAAAAAAAAA2", "bob", time.Unix(1_700_000_050, 0))
	k3.Status = metadata.AccessKeyInactive
	for _, k := range []metadata.AccessKey{k2, k1, k3} {
		mustCreateAccessKey(t, s, k)
	}
	for _, k := range []metadata.AccessKey{k1, k2, k3} {
		assertAccessKey(t, s, k)
	}
	assertAccessKeys(t, s, "alice", k1, k2) // oldest first
	assertAccessKeys(t, s, "bob", k3)

	// An empty status is Active; a zero CreatedAt is the time of the call.
	before := time.Now()
	k4 := metadata.AccessKey{ID: "AKIAAAAAAAAAAAAAAAA4", User: "bob", SealedSecret: []byte("sealed")}
	mustCreateAccessKey(t, s, k4)
	got, err := s.AccessKey(t.Context(), k4.ID)
	if err != nil {
		t.Fatalf("AccessKey: %v", err)
	}
	if got.Status != metadata.AccessKeyActive || !got.LastUsedAt.IsZero() ||
		got.CreatedAt.Before(before.Add(-time.Minute)) || got.CreatedAt.After(time.Now().Add(time.Minute)) {
		t.Errorf("AccessKey = %+v; want Active, never used, created about %v", got, before)
	}

	taken := accessKey(k1.ID, "bob", time.Now())
	if err := s.CreateAccessKey(t.Context(), taken); !errors.Is(err, metadata.ErrAccessKeyExists) {
		t.Errorf("CreateAccessKey of a taken ID: err = %v; want ErrAccessKeyExists", err)
	}
	assertAccessKey(t, s, k1) // unchanged
	orphan := accessKey("AKIAAAAAAAAAAAAAAAA9", "nobody", time.Now())
	if err := s.CreateAccessKey(t.Context(), orphan); !errors.Is(err, metadata.ErrUserUnknown) {
		t.Errorf("CreateAccessKey of an unknown user: err = %v; want ErrUserUnknown", err)
	}
	bad := accessKey("AKIAAAAAAAAAAAAAAAA8", "alice", time.Now())
	bad.Status = "active"
	if err := s.CreateAccessKey(t.Context(), bad); !errors.Is(err, metadata.ErrAccessKeyStatus) {
		t.Errorf("CreateAccessKey with status %q: err = %v; want ErrAccessKeyStatus", bad.Status, err)
	}
	for _, id := range []string{orphan.ID, bad.ID, "akiaaaaaaaaaaaaaaaa1", ""} {
		if _, err := s.AccessKey(t.Context(), id); !errors.Is(err, metadata.ErrAccessKeyUnknown) {
			t.Errorf("AccessKey(%q): err = %v; want ErrAccessKeyUnknown", id, err)
		}
	}
	if _, err := s.AccessKeys(t.Context(), "nobody"); !errors.Is(err, metadata.ErrUserUnknown) {
		t.Errorf("AccessKeys of an unknown user: err = %v; want ErrUserUnknown", err)
	}
	mustCreateUser(t, s, metadata.User{Name: "keyless"})
	assertAccessKeys(t, s, "keyless")

	if err := s.DeleteAccessKey(t.Context(), k1.ID); err != nil {
		t.Fatalf("DeleteAccessKey: %v", err)
	}
	if _, err := s.AccessKey(t.Context(), k1.ID); !errors.Is(err, metadata.ErrAccessKeyUnknown) {
		t.Errorf("AccessKey after DeleteAccessKey: err = %v; want ErrAccessKeyUnknown", err)
	}
	if err := s.DeleteAccessKey(t.Context(), k1.ID); !errors.Is(err, metadata.ErrAccessKeyUnknown) {
		t.Errorf("DeleteAccessKey again: err = %v; want ErrAccessKeyUnknown", err)
	}
	assertAccessKeys(t, s, "alice", k2)
	if _, err := s.User(t.Context(), "alice"); err != nil {
		t.Errorf("User after deleting one of its keys: %v", err)
	}
}

func testAccessKeyStatus(t *testing.T, s metadata.Store) {
	mustCreateUser(t, s, metadata.User{Name: "alice"})
	k := accessKey("AKIAAAAAAAAAAAAAAAA1", "alice", time.Unix(1_700_000_000, 0))
	other := accessKey("AKIAAAAAAAAAAAAAAAA2", "alice", time.Unix(1_700_000_000, 1))
	mustCreateAccessKey(t, s, k)
	mustCreateAccessKey(t, s, other)
	for _, status := range []metadata.AccessKeyStatus{metadata.AccessKeyInactive, metadata.AccessKeyInactive, metadata.AccessKeyActive} {
		if err := s.SetAccessKeyStatus(t.Context(), k.ID, status); err != nil {
			t.Fatalf("SetAccessKeyStatus(%s): %v", status, err)
		}
		k.Status = status
		assertAccessKey(t, s, k)
		assertAccessKey(t, s, other)
	}
	for _, status := range []metadata.AccessKeyStatus{"", "active", "Revoked"} {
		if err := s.SetAccessKeyStatus(t.Context(), k.ID, status); !errors.Is(err, metadata.ErrAccessKeyStatus) {
			t.Errorf("SetAccessKeyStatus(%q): err = %v; want ErrAccessKeyStatus", status, err)
		}
	}
	assertAccessKey(t, s, k)
	if err := s.SetAccessKeyStatus(t.Context(), "AKIAUNKNOWNUNKNOWN00", metadata.AccessKeyInactive); !errors.Is(err, metadata.ErrAccessKeyUnknown) {
		t.Errorf("SetAccessKeyStatus of an unknown key: err = %v; want ErrAccessKeyUnknown", err)
	}
}

func testTouchAccessKey(t *testing.T, s metadata.Store) {
	mustCreateUser(t, s, metadata.User{Name: "alice"})
	k := accessKey("AKIAAAAAAAAAAAAAAAA1", "alice", time.Unix(1_700_000_000, 0))
	other := accessKey("AKIAAAAAAAAAAAAAAAA2", "alice", time.Unix(1_700_000_000, 0))
	mustCreateAccessKey(t, s, k)
	mustCreateAccessKey(t, s, other)
	later := time.Unix(1_700_000_200, 5)
	earlier := time.Unix(1_700_000_100, 0)
	for _, at := range []time.Time{later, earlier, later} {
		if err := s.TouchAccessKey(t.Context(), k.ID, at); err != nil {
			t.Fatalf("TouchAccessKey(%v): %v", at, err)
		}
	}
	// An older time (another replica's late report) does not move it back.
	k.LastUsedAt = later
	assertAccessKey(t, s, k)
	assertAccessKey(t, s, other)
	if err := s.TouchAccessKey(t.Context(), "AKIAUNKNOWNUNKNOWN00", later); err != nil {
		t.Errorf("TouchAccessKey of an unknown key: %v; want nil", err)
	}
	if _, err := s.AccessKey(t.Context(), "AKIAUNKNOWNUNKNOWN00"); !errors.Is(err, metadata.ErrAccessKeyUnknown) {
		t.Errorf("TouchAccessKey created a key: err = %v", err)
	}
	// Touching many keys at once is no conflict.
	done := make(chan error)
	for i := range 16 {
		go func() { done <- s.TouchAccessKey(t.Context(), other.ID, time.Unix(1_700_000_300+int64(i), 0)) }()
	}
	for range 16 {
		if err := <-done; err != nil {
			t.Errorf("concurrent TouchAccessKey: %v", err)
		}
	}
	other.LastUsedAt = time.Unix(1_700_000_315, 0)
	assertAccessKey(t, s, other)
}

func testDeleteUserDeletesKeys(t *testing.T, s metadata.Store) {
	mustCreateUser(t, s, metadata.User{Name: "alice"})
	mustCreateUser(t, s, metadata.User{Name: "bob"})
	var alices []metadata.AccessKey
	for i := range 3 {
		k := accessKey(fmt.Sprintf("AKIAAAAAAAAAAAAAAAA%d", i), "alice", time.Unix(1_700_000_000+int64(i), 0))
		mustCreateAccessKey(t, s, k)
		alices = append(alices, k)
	}
	bobs := accessKey("AKIABBBBBBBBBBBBBBBB", "bob", time.Unix(1_700_000_000, 0))
	mustCreateAccessKey(t, s, bobs)

	if err := s.DeleteUser(t.Context(), "alice"); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	for _, k := range alices {
		if _, err := s.AccessKey(t.Context(), k.ID); !errors.Is(err, metadata.ErrAccessKeyUnknown) {
			t.Errorf("AccessKey(%s) of a deleted user: err = %v; want ErrAccessKeyUnknown", k.ID, err)
		}
	}
	assertAccessKey(t, s, bobs)
	// A new user of the same name does not inherit the old keys.
	mustCreateUser(t, s, metadata.User{Name: "alice"})
	assertAccessKeys(t, s, "alice")
	for _, k := range alices {
		if _, err := s.AccessKey(t.Context(), k.ID); !errors.Is(err, metadata.ErrAccessKeyUnknown) {
			t.Errorf("AccessKey(%s) after the name was reused: err = %v; want ErrAccessKeyUnknown", k.ID, err)
		}
	}
}

func testIdentitiesSurviveReopen(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	u := metadata.User{Name: "alice", ARN: "arn:aws:iam::123456789012:user/alice",
		CreatedAt: time.Unix(1_700_000_000, 0), Policies: []string{inlinePolicy}}
	mustCreateUser(t, s, u)
	k := accessKey("AKIAAAAAAAAAAAAAAAA1", "alice", time.Unix(1_700_000_000, 0))
	mustCreateAccessKey(t, s, k)
	if err := s.TouchAccessKey(t.Context(), k.ID, time.Unix(1_700_000_500, 0)); err != nil {
		t.Fatalf("TouchAccessKey: %v", err)
	}
	k.LastUsedAt = time.Unix(1_700_000_500, 0)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = mustOpen(t, open)
	defer s.Close()
	assertUser(t, s, u)
	assertAccessKey(t, s, k)
}

// accessKey returns an active key whose sealed secret is made from id.
func accessKey(id, user string, created time.Time) metadata.AccessKey {
	return metadata.AccessKey{
		ID: id, User: user, Status: metadata.AccessKeyActive, CreatedAt: created,
		SealedSecret: append([]byte{1, 0, 0xff}, "sealed secret of "+id...),
	}
}

func mustCreateUser(t *testing.T, s metadata.Store, u metadata.User) {
	t.Helper()
	if err := s.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", u.Name, err)
	}
}

func mustCreateAccessKey(t *testing.T, s metadata.Store, k metadata.AccessKey) {
	t.Helper()
	if err := s.CreateAccessKey(t.Context(), k); err != nil {
		t.Fatalf("CreateAccessKey(%s): %v", k.ID, err)
	}
}

func equalUser(a, b metadata.User) bool {
	return a.Name == b.Name && a.ARN == b.ARN && a.CreatedAt.Equal(b.CreatedAt) && slices.Equal(a.Policies, b.Policies)
}

func equalAccessKey(a, b metadata.AccessKey) bool {
	return a.ID == b.ID && a.User == b.User && string(a.SealedSecret) == string(b.SealedSecret) &&
		a.Status == b.Status && a.CreatedAt.Equal(b.CreatedAt) && a.LastUsedAt.Equal(b.LastUsedAt)
}

func assertUser(t *testing.T, s metadata.Store, want metadata.User) {
	t.Helper()
	got, err := s.User(t.Context(), want.Name)
	if err != nil {
		t.Fatalf("User(%s): %v", want.Name, err)
	}
	if !equalUser(got, want) {
		t.Errorf("User(%s) = %+v; want %+v", want.Name, got, want)
	}
}

func assertAccessKey(t *testing.T, s metadata.Store, want metadata.AccessKey) {
	t.Helper()
	got, err := s.AccessKey(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("AccessKey(%s): %v", want.ID, err)
	}
	if !equalAccessKey(got, want) {
		t.Errorf("AccessKey(%s) = %+v; want %+v", want.ID, got, want)
	}
}

func assertAccessKeys(t *testing.T, s metadata.Store, user string, want ...metadata.AccessKey) {
	t.Helper()
	got, err := s.AccessKeys(t.Context(), user)
	if err != nil {
		t.Fatalf("AccessKeys(%s): %v", user, err)
	}
	if !slices.EqualFunc(got, want, equalAccessKey) {
		t.Errorf("AccessKeys(%s) = %+v; want %+v", user, got, want)
	}
}
