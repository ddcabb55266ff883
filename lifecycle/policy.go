// Package lifecycle owns Amazon ECR lifecycle policies as pure domain logic:
// the policy grammar, its validation with ECR's error messages, and the
// evaluation of a policy over a repository's images at a given instant.
//
// It decides what should happen to images; it does nothing to them. Storing
// policies, the ECR API operations and previews, the schedule that runs
// policies, deleting manifests, archiving blobs and garbage-collecting the
// space they free all live elsewhere and feed this package plain values.
//
// The grammar, validation and semantics follow the AWS user guide pages
// "Lifecycle policy properties" and "Examples of lifecycle policies":
// https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
package lifecycle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Values of the policy grammar. The policy JSON uses lower case; the ECR API
// upper-cases some of them (EXPIRE, ARCHIVE) in its responses, which is the
// API layer's business.
const (
	TagStatusTagged   = "tagged"
	TagStatusUntagged = "untagged"
	TagStatusAny      = "any"

	StorageClassStandard = "standard"
	StorageClassArchive  = "archive"

	CountTypeImageCountMoreThan     = "imageCountMoreThan"
	CountTypeSinceImagePushed       = "sinceImagePushed"
	CountTypeSinceImagePulled       = "sinceImagePulled"
	CountTypeSinceImageTransitioned = "sinceImageTransitioned"

	CountUnitDays = "days"

	ActionExpire     = "expire"
	ActionTransition = "transition"
)

// Limits enforced by Parse.
const (
	// MinTextLength and MaxTextLength bound the policy text in characters,
	// as ECR's lifecyclePolicyText member does.
	MinTextLength = 100
	MaxTextLength = 30720
	// MaxPatternWildcards is the most '*' a tagPatternList entry may hold.
	MaxPatternWildcards = 4
	// MinArchiveDays is the shortest sinceImageTransitioned age: ECR will not
	// let a policy delete an image archived for less than 90 days.
	MinArchiveDays = 90
)

// ErrorCode is the ECR error type name of every error Parse returns.
const ErrorCode = "InvalidParameterException"

// ValidationError is returned by Parse for any policy ECR would refuse. Its
// message is ECR's full InvalidParameterException message, so the API layer
// can put Error() on the wire unchanged under ErrorCode.
type ValidationError struct {
	// Constraint is the part of the message ECR quotes, for example
	// "Lifecycle policy validation failure: rules[0].selection.countNumber
	// must be an integer greater than or equal to 1".
	Constraint string
}

// Error returns ECR's message for the refused policy.
func (e *ValidationError) Error() string {
	return "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: '" + e.Constraint + "'"
}

// ErrorCode returns the ECR error type name, InvalidParameterException.
func (e *ValidationError) ErrorCode() string { return ErrorCode }

func invalid(format string, args ...any) error {
	return &ValidationError{Constraint: "Lifecycle policy validation failure: " + fmt.Sprintf(format, args...)}
}

// Policy is a parsed, valid lifecycle policy. Rules keep the order of the
// text; Evaluate orders them by RulePriority.
type Policy struct {
	Rules []Rule `json:"rules"`
}

// Rule is one rule of a policy: which images it selects and what it does to
// those its count criterion picks.
type Rule struct {
	// RulePriority orders evaluation, lowest first; unique within a policy.
	RulePriority int `json:"rulePriority"`
	// Description is free text.
	Description string    `json:"description,omitempty"`
	Selection   Selection `json:"selection"`
	Action      Action    `json:"action"`
}

// Selection says which images a rule considers and which of those it acts on.
type Selection struct {
	// TagStatus is tagged, untagged or any.
	TagStatus string `json:"tagStatus"`
	// TagPrefixList and TagPatternList are exclusive and only used with
	// tagged: an image is selected when, for every entry, one of its tags
	// starts with (prefix) or matches (pattern, '*' is any run) the entry.
	TagPrefixList  []string `json:"tagPrefixList,omitempty"`
	TagPatternList []string `json:"tagPatternList,omitempty"`
	// StorageClass is standard or archive; empty means standard.
	StorageClass string `json:"storageClass,omitempty"`
	// CountType is imageCountMoreThan or one of the since* ages.
	CountType string `json:"countType"`
	// CountUnit is days for the since* count types, empty otherwise.
	CountUnit string `json:"countUnit,omitempty"`
	// CountNumber is the image count or the age in days.
	CountNumber int `json:"countNumber"`
}

// Class returns the storage class the selection applies to, defaulting to
// standard.
func (s Selection) Class() string {
	if s.StorageClass == "" {
		return StorageClassStandard
	}
	return s.StorageClass
}

// Action is what a rule does to the images it picks.
type Action struct {
	// Type is expire or transition.
	Type string `json:"type"`
	// TargetStorageClass is archive for transition, empty for expire.
	TargetStorageClass string `json:"targetStorageClass,omitempty"`
}

// The wire shapes tell "absent" from "zero" so that validation can name a
// missing member.
type wirePolicy struct {
	Rules *[]wireRule `json:"rules"`
}

type wireRule struct {
	RulePriority *int           `json:"rulePriority"`
	Description  *string        `json:"description"`
	Selection    *wireSelection `json:"selection"`
	Action       *wireAction    `json:"action"`
}

type wireSelection struct {
	TagStatus      *string   `json:"tagStatus"`
	TagPrefixList  *[]string `json:"tagPrefixList"`
	TagPatternList *[]string `json:"tagPatternList"`
	StorageClass   *string   `json:"storageClass"`
	CountType      *string   `json:"countType"`
	CountUnit      *string   `json:"countUnit"`
	CountNumber    *int      `json:"countNumber"`
}

type wireAction struct {
	Type               *string         `json:"type"`
	TargetStorageClass json.RawMessage `json:"targetStorageClass"`
}

// Parse reads and validates a lifecycle policy text. Any policy ECR's
// PutLifecyclePolicy would refuse yields a *ValidationError naming what is
// wrong; Parse never returns another kind of error.
func Parse(text string) (*Policy, error) {
	if n := utf8.RuneCountInString(text); n < MinTextLength || n > MaxTextLength {
		return nil, &ValidationError{Constraint: fmt.Sprintf(
			"Member must have length between %d and %d, got %d", MinTextLength, MaxTextLength, n)}
	}
	var w wirePolicy
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid("unexpected data after the policy object")
	}
	if w.Rules == nil {
		return nil, invalid("rules is required")
	}
	if len(*w.Rules) == 0 {
		return nil, invalid("rules must contain at least one rule")
	}
	p := &Policy{Rules: make([]Rule, 0, len(*w.Rules))}
	for i, wr := range *w.Rules {
		r, err := convertRule(fmt.Sprintf("rules[%d]", i), wr)
		if err != nil {
			return nil, err
		}
		p.Rules = append(p.Rules, r)
	}
	if err := checkAcrossRules(p.Rules); err != nil {
		return nil, err
	}
	return p, nil
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return invalid("the policy must be a JSON object")
		}
		return invalid("%s has the wrong type: got %s, want %s", typeErr.Field, typeErr.Value, jsonType(typeErr.Type.String()))
	case errors.As(err, &syntaxErr):
		return invalid("malformed JSON at offset %d: %v", syntaxErr.Offset, syntaxErr)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return invalid("unknown member %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return invalid("malformed JSON: %v", err)
	}
}

func jsonType(goType string) string {
	switch {
	case goType == "int":
		return "integer"
	case goType == "string":
		return "string"
	case strings.HasPrefix(goType, "[]"):
		return "array"
	default:
		return "object"
	}
}

func convertRule(path string, wr wireRule) (Rule, error) {
	var r Rule
	if wr.RulePriority == nil {
		return r, invalid("%s.rulePriority is required", path)
	}
	if *wr.RulePriority < 1 {
		return r, invalid("%s.rulePriority must be an integer greater than or equal to 1, got %d", path, *wr.RulePriority)
	}
	r.RulePriority = *wr.RulePriority
	if wr.Description != nil {
		r.Description = *wr.Description
	}
	if wr.Selection == nil {
		return r, invalid("%s.selection is required", path)
	}
	if wr.Action == nil {
		return r, invalid("%s.action is required", path)
	}
	var err error
	if r.Selection, err = convertSelection(path+".selection", *wr.Selection); err != nil {
		return r, err
	}
	if r.Action, err = convertAction(path+".action", *wr.Action); err != nil {
		return r, err
	}

	// Combinations of selection and action.
	s, a := r.Selection, r.Action
	switch {
	case s.CountType == CountTypeSinceImagePulled && a.Type != ActionTransition:
		return r, invalid("%s: countType sinceImagePulled is allowed only with action type transition", path)
	case s.CountType == CountTypeSinceImageTransitioned && a.Type != ActionExpire:
		return r, invalid("%s: countType sinceImageTransitioned is allowed only with action type expire", path)
	case s.CountType == CountTypeSinceImageTransitioned && s.Class() != StorageClassArchive:
		return r, invalid("%s: countType sinceImageTransitioned requires selection.storageClass archive", path)
	case s.Class() == StorageClassArchive && s.CountType != CountTypeSinceImageTransitioned:
		return r, invalid("%s: selection.storageClass archive is allowed only with countType sinceImageTransitioned", path)
	case s.CountType == CountTypeSinceImageTransitioned && s.CountNumber < MinArchiveDays:
		return r, invalid("%s.selection.countNumber must be at least %d for countType sinceImageTransitioned, got %d", path, MinArchiveDays, s.CountNumber)
	}
	return r, nil
}

func convertSelection(path string, ws wireSelection) (Selection, error) {
	var s Selection
	if ws.TagStatus == nil {
		return s, invalid("%s.tagStatus is required", path)
	}
	s.TagStatus = *ws.TagStatus
	switch s.TagStatus {
	case TagStatusTagged:
		switch {
		case ws.TagPrefixList != nil && ws.TagPatternList != nil:
			return s, invalid("%s: specify only one of tagPrefixList and tagPatternList", path)
		case ws.TagPrefixList == nil && ws.TagPatternList == nil:
			return s, invalid("%s: tagStatus tagged requires tagPrefixList or tagPatternList", path)
		case ws.TagPrefixList != nil:
			if err := checkTagList(path+".tagPrefixList", *ws.TagPrefixList, false); err != nil {
				return s, err
			}
			s.TagPrefixList = *ws.TagPrefixList
		default:
			if err := checkTagList(path+".tagPatternList", *ws.TagPatternList, true); err != nil {
				return s, err
			}
			s.TagPatternList = *ws.TagPatternList
		}
	case TagStatusUntagged, TagStatusAny:
		if ws.TagPrefixList != nil || ws.TagPatternList != nil {
			return s, invalid("%s: tagPrefixList and tagPatternList are allowed only with tagStatus tagged, not %s", path, s.TagStatus)
		}
	default:
		return s, invalid("%s.tagStatus must be one of tagged, untagged, any; got %q", path, s.TagStatus)
	}

	if ws.StorageClass != nil {
		s.StorageClass = *ws.StorageClass
		if s.StorageClass != StorageClassStandard && s.StorageClass != StorageClassArchive {
			return s, invalid("%s.storageClass must be one of standard, archive; got %q", path, s.StorageClass)
		}
	}

	if ws.CountType == nil {
		return s, invalid("%s.countType is required", path)
	}
	s.CountType = *ws.CountType
	switch s.CountType {
	case CountTypeImageCountMoreThan:
		if ws.CountUnit != nil {
			return s, invalid("%s.countUnit is not allowed with countType imageCountMoreThan", path)
		}
	case CountTypeSinceImagePushed, CountTypeSinceImagePulled, CountTypeSinceImageTransitioned:
		if ws.CountUnit == nil {
			return s, invalid("%s.countUnit is required with countType %s", path, s.CountType)
		}
		s.CountUnit = *ws.CountUnit
		if s.CountUnit != CountUnitDays {
			return s, invalid("%s.countUnit must be days; got %q", path, s.CountUnit)
		}
	default:
		return s, invalid("%s.countType must be one of imageCountMoreThan, sinceImagePushed, sinceImagePulled, sinceImageTransitioned; got %q", path, s.CountType)
	}

	if ws.CountNumber == nil {
		return s, invalid("%s.countNumber is required", path)
	}
	s.CountNumber = *ws.CountNumber
	if s.CountNumber < 1 {
		return s, invalid("%s.countNumber must be an integer greater than or equal to 1, got %d", path, s.CountNumber)
	}
	return s, nil
}

func checkTagList(path string, list []string, pattern bool) error {
	if len(list) == 0 {
		return invalid("%s must contain at least one entry", path)
	}
	for i, t := range list {
		if t == "" {
			return invalid("%s[%d] must not be empty", path, i)
		}
		if pattern && strings.Count(t, "*") > MaxPatternWildcards {
			return invalid("%s[%d] %q has more than %d wildcards (*)", path, i, t, MaxPatternWildcards)
		}
	}
	return nil
}

func convertAction(path string, wa wireAction) (Action, error) {
	var a Action
	if wa.Type == nil {
		return a, invalid("%s.type is required", path)
	}
	a.Type = *wa.Type
	if a.Type != ActionExpire && a.Type != ActionTransition {
		return a, invalid("%s.type must be one of expire, transition; got %q", path, a.Type)
	}
	if wa.TargetStorageClass != nil {
		if bytes.Equal(bytes.TrimSpace(wa.TargetStorageClass), []byte("null")) {
			return a, invalid("%s.targetStorageClass must not be null", path)
		}
		if err := json.Unmarshal(wa.TargetStorageClass, &a.TargetStorageClass); err != nil {
			return a, invalid("%s.targetStorageClass has the wrong type: want string", path)
		}
		if a.Type != ActionTransition {
			return a, invalid("%s.targetStorageClass is allowed only with action type transition", path)
		}
		if a.TargetStorageClass != StorageClassArchive {
			return a, invalid("%s.targetStorageClass must be archive; got %q", path, a.TargetStorageClass)
		}
	} else if a.Type == ActionTransition {
		return a, invalid("%s.targetStorageClass is required with action type transition", path)
	}
	return a, nil
}

// checkAcrossRules applies the constraints that involve several rules. The
// per-storage-class ones are scoped by the class each rule selects from.
func checkAcrossRules(rules []Rule) error {
	byPriority := make(map[int]bool, len(rules))
	maxPriority := make(map[string]int) // storage class -> highest priority
	for _, r := range rules {
		if byPriority[r.RulePriority] {
			return invalid("rulePriority %d is used by more than one rule", r.RulePriority)
		}
		byPriority[r.RulePriority] = true
		c := r.Selection.Class()
		maxPriority[c] = max(maxPriority[c], r.RulePriority)
	}
	untagged := make(map[string]int)            // storage class -> priority of its untagged rule
	prefixes := make(map[string]map[string]int) // storage class -> prefix -> priority
	for _, r := range rules {
		c := r.Selection.Class()
		switch r.Selection.TagStatus {
		case TagStatusAny:
			if r.RulePriority != maxPriority[c] {
				return invalid("the rule with tagStatus any (rulePriority %d) must have the highest rulePriority among %s rules, but rulePriority %d is higher",
					r.RulePriority, c, maxPriority[c])
			}
		case TagStatusUntagged:
			if other, ok := untagged[c]; ok {
				return invalid("only one rule per storage class may select untagged images; rulePriority %d and %d both select untagged %s images",
					other, r.RulePriority, c)
			}
			untagged[c] = r.RulePriority
		}
		for _, pfx := range r.Selection.TagPrefixList {
			if prefixes[c] == nil {
				prefixes[c] = make(map[string]int)
			}
			if other, ok := prefixes[c][pfx]; ok {
				return invalid("tag prefix %q must be unique within storage class %s, but rulePriority %d and %d both use it",
					pfx, c, other, r.RulePriority)
			}
			prefixes[c][pfx] = r.RulePriority
		}
	}
	return nil
}
