package inventory

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// maxLine bounds how much of one line the parsers see. The fields they
// read (names, versions, status) are short; the rest of a longer line is
// dropped rather than buffered.
const maxLine = 64 << 10

// eachLine calls fn with every line of r, without its line ending, until r
// ends or fn returns false. The slice is valid only during the call.
func eachLine(r io.Reader, fn func(line []byte) bool) error {
	br := bufio.NewReaderSize(r, maxLine)
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 && !fn(bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))) {
			return nil
		}
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// records reads the blank-line separated records of a dpkg status or apk
// installed database and calls fn with each record's fields named in keys.
// A field is "Key: value" (dpkg) or "K:value" (apk); a line starting with
// a space or tab continues the previous field and is ignored, since none
// of the fields read spans lines. The first occurrence of a key in a
// record wins. The map is reused: fn must not keep it.
func records(r io.Reader, keys []string, fn func(rec map[string]string)) error {
	rec := make(map[string]string, len(keys))
	flush := func() {
		if len(rec) > 0 {
			fn(rec)
			clear(rec)
		}
	}
	err := eachLine(r, func(line []byte) bool {
		if len(bytes.TrimSpace(line)) == 0 {
			flush()
			return true
		}
		if line[0] == ' ' || line[0] == '\t' {
			return true
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return true
		}
		for _, key := range keys {
			if string(k) == key {
				if _, seen := rec[key]; !seen {
					rec[key] = string(bytes.TrimSpace(v))
				}
				break
			}
		}
		return true
	})
	flush()
	return err
}
