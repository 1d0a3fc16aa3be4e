package thingspace

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
)

// soapNode is one open element while walking a SOAP response.
type soapNode struct {
	name string
	leaf bool
	text strings.Builder
}

const maxSOAPText = 64 << 10

// soapWalker collects, from one SOAP response, the leaf elements under Body
// (by local name, first occurrence wins) or the parts of an s:Fault.
type soapWalker struct {
	stack       []*soapNode
	bodyDepth   int // depth of Body, -1 until seen (and after it closed)
	faultDepth  int
	detailDepth int
	sawBody     bool
	inFault     bool
	fields      map[string]string
	fault       soapFault
}

// parseSOAP walks a SOAP response by local names only (element namespaces and
// wrappers are unconfirmed upstream). On success it returns the text of every
// leaf element under Body, keyed by local name. On a fault (whatever the HTTP
// status), an HTTP error or an unreadable body it returns a classified
// *Error whose Body is the redacted fault text (or raw body).
//
// A 2xx answer that is not a fault but fails to parse part-way returns both
// the fields completed before the flaw and a ClassUnknown error, so that a
// new password that arrived whole is never lost to a later defect. A field
// is only recorded once its end tag was read, so it is never cut short.
func parseSOAP(op string, status int, body []byte, secrets []string) (map[string]string, *Error) {
	w := &soapWalker{bodyDepth: -1, faultDepth: -1, detailDepth: -1, fields: make(map[string]string)}
	var parseErr error
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				parseErr = err
			}
			break
		}
		w.token(tok)
	}
	ok2xx := status >= 200 && status < 300
	switch {
	case w.inFault:
		return nil, w.fault.error(op, status, secrets)
	case parseErr != nil || !w.sawBody || !ok2xx:
		class := classifyStatus(status)
		if class == ClassBearerRejected {
			class = ClassBadRequest // SOAP has no bearer token to refetch
		}
		e := &Error{Op: op, Class: class, Status: status, Body: scrub(string(body), maxBody, secrets)}
		if ok2xx {
			e.Class = ClassUnknown // a 200 we cannot read
			return w.fields, e
		}
		return nil, e
	}
	return w.fields, nil
}

func (w *soapWalker) token(tok xml.Token) {
	switch t := tok.(type) {
	case xml.StartElement:
		w.start(t.Name.Local)
	case xml.CharData:
		if n := len(w.stack); n > 0 && w.bodyDepth > 0 && w.stack[n-1].text.Len() < maxSOAPText {
			w.stack[n-1].text.Write(t)
		}
		if w.detailDepth > 0 && w.fault.detail.Len() < maxSOAPText {
			w.fault.detail.Write(bytes.TrimSpace(t))
			w.fault.detail.WriteByte(' ')
		}
	case xml.EndElement:
		w.end()
	}
}

func (w *soapWalker) start(local string) {
	if n := len(w.stack); n > 0 {
		w.stack[n-1].leaf = false
	}
	w.stack = append(w.stack, &soapNode{name: local, leaf: true})
	depth := len(w.stack)
	switch {
	case w.bodyDepth < 0 && !w.sawBody && local == "Body" && depth == 2 && w.stack[0].name == "Envelope":
		w.bodyDepth, w.sawBody = depth, true
	case w.bodyDepth > 0 && w.faultDepth < 0 && !w.inFault && local == "Fault" && depth == w.bodyDepth+1:
		w.faultDepth, w.inFault = depth, true
	case w.faultDepth > 0 && w.detailDepth < 0 && strings.EqualFold(local, "detail"):
		w.detailDepth = depth
	}
}

func (w *soapWalker) end() {
	n := len(w.stack)
	if n == 0 {
		return // the decoder rejects unbalanced tags; be defensive anyway
	}
	node := w.stack[n-1]
	txt := strings.TrimSpace(node.text.String())
	switch {
	case w.faultDepth > 0:
		w.fault.element(node.name, txt, n-w.faultDepth, w.detailDepth > 0 && node.leaf)
	case w.bodyDepth > 0 && node.leaf:
		if _, ok := w.fields[node.name]; !ok {
			w.fields[node.name] = txt
		}
	}
	if n == w.detailDepth {
		w.detailDepth = -1
	}
	if n == w.faultDepth {
		w.faultDepth = -1
	}
	if n == w.bodyDepth {
		w.bodyDepth = -1
	}
	w.stack = w.stack[:n-1]
}
