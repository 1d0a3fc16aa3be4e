package thingspace

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// answerDecoder is an answer that reads itself from the raw 200 body instead
// of through json.Unmarshal, which refuses the whole body for one flaw.
type answerDecoder interface {
	decodeAnswer(data []byte) error
}

// decodeAnswer fills out from a 2xx body.
func decodeAnswer(data []byte, out any) error {
	if d, ok := out.(answerDecoder); ok {
		return d.decodeAnswer(data)
	}
	return json.Unmarshal(data, out)
}

type resetAnswer struct {
	NewPassword string
}

var errNoNewPassword = errors.New("answer has no newPassword")

// decodeAnswer keeps the new password whatever else is wrong with the body
// (trailing data, a second object, odd fields, a cut after the password):
// ThingSpace returns it once and nowhere else.
func (a *resetAnswer) decodeAnswer(data []byte) error {
	pw, ok := extractNewPassword(data)
	if !ok {
		return errNoNewPassword
	}
	a.NewPassword = pw
	return nil
}

// extractNewPassword reads the first JSON object of data member by member
// and returns its "newPassword" string (key matched case-insensitively, the
// last complete one winning, as encoding/json does). It stops at the first
// syntax error and keeps what it had: a value is only taken once its closing
// quote was read, so a password cut in the middle is never returned.
func extractNewPassword(data []byte) (string, bool) {
	d := json.NewDecoder(bytes.NewReader(data))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	var pw string
	for d.More() {
		key, err := d.Token()
		if err != nil {
			break
		}
		var raw json.RawMessage
		if err := d.Decode(&raw); err != nil {
			break
		}
		if k, _ := key.(string); !strings.EqualFold(k, "newPassword") {
			continue
		}
		var s *string
		if json.Unmarshal(raw, &s) == nil && s != nil {
			pw = *s // null leaves the previous value, as encoding/json does
		}
	}
	return pw, pw != ""
}
