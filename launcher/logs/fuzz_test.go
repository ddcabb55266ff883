package logs

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/awsjson"
	"github.com/berth-dev/berth/metadata"
)

func TestParsePattern(t *testing.T) {
	for _, tt := range []struct {
		pattern string
		want    metadata.LogMatch
	}{
		{"", metadata.LogMatch{}},
		{`  ""  `, metadata.LogMatch{}},
		{`" "`, metadata.LogMatch{}},
		{"ERROR", metadata.LogMatch{All: []string{"ERROR"}}},
		{"ERROR  Exception\tmain", metadata.LogMatch{All: []string{"ERROR", "Exception", "main"}}},
		{"?ERROR ?WARN", metadata.LogMatch{Any: []string{"ERROR", "WARN"}}},
		{"ERROR -Exiting", metadata.LogMatch{All: []string{"ERROR"}, None: []string{"Exiting"}}},
		{`"ERROR" - "Exiting"`, metadata.LogMatch{All: []string{"ERROR"}, None: []string{"Exiting"}}},
		{`"Failed to process" ?a ?"b c"`, metadata.LogMatch{All: []string{"Failed to process"}, Any: []string{"a", "b c"}}},
		{`"say \"hi\" \\o/"`, metadata.LogMatch{All: []string{`say "hi" \o/`}}},
		{`"a\nb"`, metadata.LogMatch{All: []string{`a\nb`}}},
		{"?x ?\"\" ?y", metadata.LogMatch{}},
		{"user=alice status:500 [x]", metadata.LogMatch{All: []string{"user=alice", "status:500", "[x]"}}},
	} {
		got, err := ParsePattern(tt.pattern)
		if err != nil || !slices.Equal(got.All, tt.want.All) || !slices.Equal(got.Any, tt.want.Any) || !slices.Equal(got.None, tt.want.None) {
			t.Errorf("ParsePattern(%q) = %+v, %v; want %+v", tt.pattern, got, err, tt.want)
		}
	}
	for _, bad := range []string{`{ $.level = "error" }`, "[ip, user, ...]", "%ERR[O]R%", `"unclosed`, `"a"b`, `a"b`, "-", "ERROR ?", `-""`, `- " "`} {
		var pe *PatternError
		if _, err := ParsePattern(bad); !errors.As(err, &pe) || pe.Pattern != bad {
			t.Errorf("ParsePattern(%q): err = %v; want a *PatternError", bad, err)
		}
	}
}

// The parser takes any text without panicking, and what it accepts is a
// pattern whose terms all came from the text.
func FuzzParsePattern(f *testing.F) {
	for _, seed := range []string{"", "ERROR", "?a ?b -c", `"x y" - "z"`, `"\"\\"`, "{ $.a = 1 }", "[a, b]", "%re%", `"open`, "- -", "? \"\"", "\x00\xff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		m, err := ParsePattern(text)
		if err != nil {
			var pe *PatternError
			if !errors.As(err, &pe) || pe.Pattern != text || pe.Reason == "" {
				t.Fatalf("ParsePattern(%q): err = %v; want a *PatternError", text, err)
			}
			return
		}
		unescaped := strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(text)
		for _, terms := range [][]string{m.All, m.Any, m.None} {
			for _, term := range terms {
				if strings.TrimSpace(term) == "" || (!strings.Contains(text, term) && !strings.Contains(unescaped, term)) {
					t.Fatalf("ParsePattern(%q) gave the term %q", text, term)
				}
			}
		}
	})
}

// Stream tokens: any text decodes to an error or to a gap whose token is
// the text itself, and tokens round-trip for their own stream only.
func FuzzStreamToken(f *testing.F) {
	tok, err := newTokens([]byte(strings.Repeat("k", 32)))
	if err != nil {
		f.Fatal(err)
	}
	for _, gap := range []metadata.LogPosition{metadata.LogHead, {Time: 1_700_000_000_123, Seq: 42}, {Time: 0, Seq: 0}} {
		f.Add(tok.encodeStream("g", "s", true, gap), int64(gap.Time), int64(gap.Seq))
		f.Add(tok.encodeStream("g", "s", false, gap), int64(gap.Time), int64(gap.Seq))
	}
	f.Add("f/"+strings.Repeat("9", 56), int64(-2), int64(-1))
	f.Add("b/123", int64(1<<62), int64(1<<62))
	f.Fuzz(func(t *testing.T, token string, ts, seq int64) {
		if forward, gap, err := tok.decodeStream("g", "s", token); err == nil {
			if again := tok.encodeStream("g", "s", forward, gap); again != token {
				t.Fatalf("decoded %q to %v %+v, which encodes to %q", token, forward, gap, again)
			}
			if _, _, err := tok.decodeStream("g", "other", token); err == nil {
				t.Fatalf("token %q of stream s is accepted for stream other", token)
			}
		} else if !errors.Is(err, errInvalidToken) {
			t.Fatalf("decodeStream(%q): err = %v; want errInvalidToken", token, err)
		}
		// Every gap the API can hand out round-trips.
		if ts < -1 || ts >= 1e16 || seq < 0 {
			return
		}
		gap := metadata.LogPosition{Time: ts, Seq: seq}
		for _, forward := range []bool{true, false} {
			token := tok.encodeStream("g", "s", forward, gap)
			gotForward, got, err := tok.decodeStream("g", "s", token)
			if err != nil || gotForward != forward || got != gap {
				t.Fatalf("token %q of %v %+v decoded to %v %+v, %v", token, forward, gap, gotForward, got, err)
			}
		}
	})
}

// The other operations' tokens: any text is refused or decodes to a
// cursor, and a token made for one query is refused for another.
func FuzzFilterToken(f *testing.F) {
	tok, err := newTokens([]byte(strings.Repeat("k", 32)))
	if err != nil {
		f.Fatal(err)
	}
	binding := awsjson.Binding("FilterLogEvents", "g", []string{"s"}, "", "ERROR", nil, nil)
	valid, err := tok.encode(binding, filterCursor{1, 2, 3})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(*valid)
	f.Add("")
	f.Add("AAAA")
	f.Add(strings.Repeat("A", 3000))
	f.Fuzz(func(t *testing.T, token string) {
		var c filterCursor
		err := tok.decode(token, binding, &c)
		if err != nil && !errors.Is(err, errInvalidToken) {
			t.Fatalf("decode(%q): err = %v; want errInvalidToken", token, err)
		}
		if err == nil && tok.decode(token, awsjson.Binding("FilterLogEvents", "g", []string{"s"}, "", "WARN", nil, nil), &c) == nil {
			t.Fatalf("token %q accepted for another pattern", token)
		}
	})
}
