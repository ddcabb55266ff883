package awserr

import (
	"errors"
	"fmt"
	"testing"
)

func TestError(t *testing.T) {
	cause := errors.New("index unreachable")
	base := Errorf(ValidationException, "bad %s", "member")
	if base.Error() != "ValidationException: bad member" || base.HTTPStatus() != 400 {
		t.Errorf("Errorf = %q, %d", base, base.HTTPStatus())
	}
	if got := (&Error{Type: "X"}).HTTPStatus(); got != 400 {
		t.Errorf("zero status reads as %d, want 400", got)
	}
	wrapped := fmt.Errorf("op: %w", base.WithCause(cause))
	var e *Error
	if !errors.Is(wrapped, cause) || !errors.As(wrapped, &e) || e.Type != ValidationException {
		t.Errorf("WithCause: errors.Is/As lost the cause or the form of %v", wrapped)
	}
	if base.Unwrap() != nil {
		t.Error("WithCause changed the original")
	}
	h := New(ThrottlingException, 429, "slow down").WithHeader("Retry-After", "3")
	h2 := h.WithHeader("X-Other", "1")
	if h.Header.Get("X-Other") != "" || h2.Header.Get("Retry-After") != "3" {
		t.Errorf("WithHeader shares headers between copies: %v %v", h.Header, h2.Header)
	}
	if s := Server(ServerException); s.HTTPStatus() != 500 || s.Message != ServerMessage {
		t.Errorf("Server = %+v", s)
	}
}
