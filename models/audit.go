package models

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Outcome says whether an audited action worked.
type Outcome string

const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
	OutcomeDenied  Outcome = "denied"
)

// Outcomes lists the valid outcomes.
var Outcomes = []Outcome{OutcomeSuccess, OutcomeFailure, OutcomeDenied}

// Actors that are not people.
const (
	ActorSystem    = "system"
	ActorCLIPrefix = "cli:"
)

// AuditEvent is one line of the audit trail.
type AuditEvent struct {
	ID         int64
	Time       time.Time
	Code       string
	Actor      string // user id, "system" or "cli:<os user>"
	ActorName  string
	ActorRoles []string
	Department string
	Target     string
	Outcome    Outcome
	SourceIP   string
	UserAgent  string
	RequestID  string
	Detail     map[string]any
	// DetailJSON is the detail as stored, when a reader (the export) took
	// it without decoding; nil otherwise.
	DetailJSON []byte
	PrevHash   []byte
	Hash       []byte
}

// RequestMeta is where a request came from, for the audit trail.
type RequestMeta struct {
	SourceIP  string
	UserAgent string
	RequestID string // made by the portal
	// ClientRequestID is the client's own X-Request-ID, only when short and
	// well formed; it goes to the detail, never in place of RequestID.
	ClientRequestID string
}

// NewEvent starts an event for code, done by p (nil: the system) from meta.
func NewEvent(code string, p *Principal, meta RequestMeta) *AuditEvent {
	e := &AuditEvent{
		Code: code, Outcome: OutcomeSuccess, Detail: map[string]any{},
		SourceIP: meta.SourceIP, UserAgent: meta.UserAgent, RequestID: meta.RequestID,
	}
	if meta.ClientRequestID != "" {
		e.Detail["client_request_id"] = meta.ClientRequestID
	}
	if p.Anonymous() {
		e.Actor = ActorSystem
		if p != nil && p.Name != "" {
			e.ActorName = p.Name
		}
		return e
	}
	e.Actor, e.ActorName, e.ActorRoles = p.Actor, p.Name, p.RoleNames()
	return e
}

// With sets detail keys and returns the event, for chaining.
func (e *AuditEvent) With(kv ...any) *AuditEvent {
	for i := 0; i+1 < len(kv); i += 2 {
		if k, ok := kv[i].(string); ok {
			e.Detail[k] = kv[i+1]
		}
	}
	return e
}

// Canonical is the event's unambiguous byte encoding, without its id and
// hashes: each field length-prefixed, the detail as JSON with sorted keys.
// The chain hash covers it; verification recomputes it from stored columns.
func (e *AuditEvent) Canonical() []byte { return e.encode(CanonicalJSON(e.Detail)) }

// CanonicalParts is Canonical and the canonical JSON of the detail within
// it, which is what the trail stores: the detail encoded once for both.
func (e *AuditEvent) CanonicalParts() (canonical, detail []byte) {
	detail = CanonicalJSON(e.Detail)
	return e.encode(detail), detail
}

// CanonicalStored is Canonical for an event read back from the database,
// whose detail is the stored JSON text (jsonb reorders keys, so it is
// re-encoded canonically).
func (e *AuditEvent) CanonicalStored(detailJSON []byte) []byte {
	return e.encode(canonicalizeJSON(detailJSON))
}

func (e *AuditEvent) encode(detail []byte) []byte {
	var b bytes.Buffer
	field := func(s string) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		b.Write(n[:])
		b.WriteString(s)
	}
	field(strconv.FormatInt(e.Time.UTC().UnixMicro(), 10))
	field(e.Code)
	field(e.Actor)
	field(e.ActorName)
	field(strings.Join(e.ActorRoles, "\n"))
	field(e.Department)
	field(e.Target)
	field(string(e.Outcome))
	field(e.SourceIP)
	field(e.UserAgent)
	field(e.RequestID)
	field(string(detail))
	return b.Bytes()
}

// ChainHash is SHA-256 over the previous hash, the event id (8 bytes, big
// endian) and the canonical encoding: the one definition of the chain,
// used by the append and by verification.
func ChainHash(prev []byte, id int64, canonical []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(id))
	h.Write(n[:])
	h.Write(canonical)
	return h.Sum(nil)
}

// GenesisHash is the previous hash of the first event.
var GenesisHash = make([]byte, 32)

// CanonicalJSON encodes v with sorted object keys and numbers kept as
// written, so a detail read back from jsonb encodes to the same bytes.
func CanonicalJSON(v any) []byte {
	if v == nil {
		return []byte("{}")
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return []byte("{}")
	}
	return canonicalizeJSON(raw)
}

// canonicalizeJSON re-encodes raw JSON text canonically.
func canonicalizeJSON(raw []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return []byte("{}")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(x) // maps encode with sorted keys
	return bytes.TrimRight(buf.Bytes(), "\n")
}
