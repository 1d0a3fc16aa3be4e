package auditlog

import (
	"bufio"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/models"
)

// exportEncoder writes the audit trail in one file format.
type exportEncoder interface {
	Header() error
	Event(e *models.AuditEvent) error
	Close() error
}

// ExportColumns are the CSV columns, in order.
var ExportColumns = []string{"id", "time", "code", "actor", "actor_name", "actor_roles", "department", "target",
	"outcome", "source_ip", "user_agent", "request_id", "detail", "prev_hash", "hash"}

type csvExport struct {
	buf *bufio.Writer
	w   *csv.Writer
	rec []string
}

func newCSVExport(w io.Writer) *csvExport {
	buf := bufio.NewWriterSize(w, 64<<10)
	return &csvExport{buf: buf, w: csv.NewWriter(buf), rec: make([]string, len(ExportColumns))}
}

func (c *csvExport) Header() error { return c.w.Write(ExportColumns) }

func (c *csvExport) Event(e *models.AuditEvent) error {
	r := c.rec
	r[0] = strconv.FormatInt(e.ID, 10)
	r[1] = e.Time.UTC().Format(time.RFC3339Nano)
	r[2] = e.Code
	r[3] = e.Actor
	r[4] = e.ActorName
	r[5] = strings.Join(e.ActorRoles, ";")
	r[6] = e.Department
	r[7] = e.Target
	r[8] = string(e.Outcome)
	r[9] = e.SourceIP
	r[10] = e.UserAgent
	r[11] = e.RequestID
	r[12] = detailOf(e)
	r[13] = hex.EncodeToString(e.PrevHash)
	r[14] = hex.EncodeToString(e.Hash)
	for i := range r {
		r[i] = NeutraliseCell(r[i])
	}
	return c.w.Write(r)
}

func (c *csvExport) Close() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return c.buf.Flush()
}

// NeutraliseCell stops a spreadsheet from running a cell as a formula: a
// cell that begins with = + - @, a tab or a carriage return gets a leading
// single quote (OWASP "CSV injection").
func NeutraliseCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// ndjsonEvent is one line of the NDJSON export; its keys match the CSV
// columns.
type ndjsonEvent struct {
	ID         int64           `json:"id"`
	Time       string          `json:"time"`
	Code       string          `json:"code"`
	Actor      string          `json:"actor"`
	ActorName  string          `json:"actor_name"`
	ActorRoles []string        `json:"actor_roles"`
	Department string          `json:"department"`
	Target     string          `json:"target"`
	Outcome    string          `json:"outcome"`
	SourceIP   string          `json:"source_ip"`
	UserAgent  string          `json:"user_agent"`
	RequestID  string          `json:"request_id"`
	Detail     json.RawMessage `json:"detail"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

type ndjsonExport struct {
	buf *bufio.Writer
	enc *json.Encoder
}

func newNDJSONExport(w io.Writer) *ndjsonExport {
	buf := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	return &ndjsonExport{buf: buf, enc: enc}
}

func (n *ndjsonExport) Header() error { return nil }

func (n *ndjsonExport) Event(e *models.AuditEvent) error {
	roles := e.ActorRoles
	if roles == nil {
		roles = []string{}
	}
	return n.enc.Encode(ndjsonEvent{
		ID: e.ID, Time: e.Time.UTC().Format(time.RFC3339Nano), Code: e.Code, Actor: e.Actor, ActorName: e.ActorName,
		ActorRoles: roles, Department: e.Department, Target: e.Target, Outcome: string(e.Outcome),
		SourceIP: e.SourceIP, UserAgent: e.UserAgent, RequestID: e.RequestID, Detail: json.RawMessage(detailOf(e)),
		PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash),
	})
}

func (n *ndjsonExport) Close() error { return n.buf.Flush() }

// detailOf is the event's detail as JSON text: as stored when the reader
// kept it so, else encoded.
func detailOf(e *models.AuditEvent) string {
	if e.DetailJSON != nil {
		return string(e.DetailJSON)
	}
	return detailJSON(e.Detail)
}

// detailJSON is the detail with sorted keys (maps encode sorted; numbers
// were read as json.Number, so they come out as stored) and without HTML
// escaping, as the database holds it.
func detailJSON(d map[string]any) string {
	if len(d) == 0 {
		return "{}"
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return "{}"
	}
	return strings.TrimSuffix(b.String(), "\n")
}
