package output

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Shape returns v as the AWS APIs write it: an AWS SDK for Go v2 output
// (or any struct of its kind) becomes an [Object] whose members are the
// wire's lowerCamel names ("repositoryName", "imagePushedAt"), in the
// struct's field order, without the SDK's ResultMetadata. Absent members
// (nil pointers, slices and maps, unset enums) are left out, as AWS leaves
// them out; an empty list that was present stays []. Timestamps are
// written as the aws CLI v2 prints them by default (see [Timestamp]), so
// that `berth ... -o json` and `aws ecr ... --output json` print the same
// document. Values that are not structs pass through.
//
// The SDK's structs have no JSON tags: the SDK derives its Go names from
// the API model's member names by upper-casing the first letter, which is
// what Shape undoes.
func Shape(v any) any {
	s, _ := shape(reflect.ValueOf(v))
	return s
}

var timeType = reflect.TypeFor[time.Time]()

// shape converts v and reports whether it is present.
func shape(v reflect.Value) (any, bool) {
	if !v.IsValid() {
		return nil, false
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, false
		}
		return shape(v.Elem())
	case reflect.Struct:
		if v.Type() == timeType {
			return Timestamp(v.Interface().(time.Time)), true
		}
		return shapeStruct(v), true
	case reflect.Slice:
		if v.IsNil() {
			return nil, false
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return v.Bytes(), true // base64 in JSON, as in AWS JSON
		}
		list := make([]any, 0, v.Len())
		for i := range v.Len() {
			e, ok := shape(v.Index(i))
			if !ok {
				e = nil
			}
			list = append(list, e)
		}
		return list, true
	case reflect.Array:
		list := make([]any, 0, v.Len())
		for i := range v.Len() {
			e, _ := shape(v.Index(i))
			list = append(list, e)
		}
		return list, true
	case reflect.Map:
		if v.IsNil() {
			return nil, false
		}
		keys := make([]string, 0, v.Len())
		byKey := map[string]reflect.Value{}
		for it := v.MapRange(); it.Next(); {
			k := it.Key().String()
			keys = append(keys, k)
			byKey[k] = it.Value()
		}
		slices.Sort(keys)
		obj := make(Object, 0, len(keys))
		for _, k := range keys {
			e, _ := shape(byKey[k])
			obj = append(obj, Member{Name: k, Value: e})
		}
		return obj, true
	case reflect.String:
		// An SDK enum is a string type that is "" when the member is absent.
		if v.Len() == 0 && v.Type() != reflect.TypeFor[string]() {
			return nil, false
		}
		return v.String(), true
	}
	return v.Interface(), true
}

func shapeStruct(v reflect.Value) Object {
	t := v.Type()
	obj := make(Object, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Anonymous || f.Name == "ResultMetadata" || f.Tag.Get("json") == "-" {
			continue
		}
		e, ok := shape(v.Field(i))
		if !ok {
			continue
		}
		obj = append(obj, Member{Name: memberName(f), Value: e})
	}
	return obj
}

// Timestamp writes t as the aws CLI v2 prints a timestamp by default
// (cli_timestamp_format iso8601): ISO 8601 with microseconds when there
// are any, here always in UTC: 2026-05-04T03:02:01.123000+00:00.
func Timestamp(t time.Time) string {
	t = t.UTC().Round(time.Microsecond)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05-07:00")
	}
	return t.Format("2006-01-02T15:04:05.000000-07:00")
}

// memberName is the wire name of a struct field: its json tag's name when
// it has one, else the field's name with a lower-case first letter. (A
// field tagged "-" is left out, as encoding/json leaves it out.)
func memberName(f reflect.StructField) string {
	if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag != "" {
		return tag
	}
	r, size := utf8.DecodeRuneInString(f.Name)
	return string(unicode.ToLower(r)) + f.Name[size:]
}

// Object is a JSON object whose members keep their order, as an API
// writes them.
type Object []Member

// Member is one name and value of an Object.
type Member struct {
	Name  string
	Value any
}

// MarshalJSON writes the members in order.
func (o Object) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, m := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(m.Name)
		if err != nil {
			return nil, err
		}
		val, err := json.Marshal(m.Value)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), val...)
	}
	return append(b, '}'), nil
}

// MarshalYAML writes the members in order, as a block mapping.
func (o Object) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, m := range o {
		var k, val yaml.Node
		if err := k.Encode(m.Name); err != nil {
			return nil, err
		}
		if err := val.Encode(m.Value); err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &k, &val)
	}
	return n, nil
}
