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

// soapFault is the text of an s:Fault (SOAP 1.1 faultcode/faultstring/detail
// or SOAP 1.2 Code/Value, Reason/Text, Detail).
type soapFault struct {
	code, reason, detail strings.Builder
}

const maxSOAPText = 64 << 10

// parseSOAP walks a SOAP response by local names only (element namespaces and
// wrappers are unconfirmed upstream). On success it returns the text of every
// leaf element under Body, keyed by local name (first occurrence wins). On a
// fault, an HTTP error or an unreadable body it returns a classified *Error
// whose Body is the redacted fault text (or raw body).
func parseSOAP(op string, status int, body []byte, secrets []string) (map[string]string, *Error) {
	fields := make(map[string]string)
	var (
		stack            []*soapNode
		bodyDepth        = -1 // depth of Body, -1 until seen
		faultDepth       = -1
		fault            soapFault
		inDetail         = -1
		parseErr         error
		sawBody, inFault bool
	)
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				parseErr = err
			}
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if n := len(stack); n > 0 {
				stack[n-1].leaf = false
			}
			stack = append(stack, &soapNode{name: t.Name.Local, leaf: true})
			depth := len(stack)
			switch {
			case bodyDepth < 0 && t.Name.Local == "Body" && depth == 2 && stack[0].name == "Envelope":
				bodyDepth, sawBody = depth, true
			case bodyDepth > 0 && faultDepth < 0 && t.Name.Local == "Fault" && depth == bodyDepth+1:
				faultDepth, inFault = depth, true
			case faultDepth > 0 && inDetail < 0 && strings.EqualFold(t.Name.Local, "detail"):
				inDetail = depth
			}
		case xml.CharData:
			if n := len(stack); n > 0 && bodyDepth > 0 && stack[n-1].text.Len() < maxSOAPText {
				stack[n-1].text.Write(t)
			}
			if inDetail > 0 && fault.detail.Len() < maxSOAPText {
				fault.detail.Write(bytes.TrimSpace(t))
				fault.detail.WriteByte(' ')
			}
		case xml.EndElement:
			n := len(stack)
			if n == 0 {
				break // the decoder rejects unbalanced tags; be defensive anyway
			}
			node := stack[n-1]
			txt := strings.TrimSpace(node.text.String())
			switch {
			case faultDepth > 0 && inDetail < 0 && (node.name == "faultcode" || node.name == "Value"):
				fault.code.WriteString(txt)
			case faultDepth > 0 && inDetail < 0 && (node.name == "faultstring" || node.name == "Text"):
				fault.reason.WriteString(txt)
			case bodyDepth > 0 && faultDepth < 0 && node.leaf:
				if _, ok := fields[node.name]; !ok {
					fields[node.name] = txt
				}
			}
			if n == inDetail {
				inDetail = -1
			}
			if n == faultDepth {
				faultDepth = -1
			}
			if n == bodyDepth {
				bodyDepth = -1
			}
			stack = stack[:n-1]
		}
	}

	switch {
	case inFault:
		code := fault.code.String()
		if i := strings.LastIndexByte(code, ':'); i >= 0 {
			code = code[i+1:]
		}
		text := strings.TrimSpace(fault.reason.String() + " " + fault.detail.String())
		clientFault := strings.Contains(code, "Client") || strings.Contains(code, "Sender")
		return nil, &Error{
			Op:     op,
			Class:  classifyFaultText(op, text+" "+code, clientFault),
			Code:   scrub(code, maxCode, secrets),
			Status: status,
			Body:   scrub(text, maxBody, secrets),
		}
	case parseErr != nil || !sawBody || status < 200 || status >= 300:
		class := classifyStatus(status)
		if status >= 200 && status < 300 {
			class = ClassUnknown // a 200 we cannot read
		}
		return nil, &Error{Op: op, Class: class, Status: status, Body: scrub(string(body), maxBody, secrets)}
	}
	return fields, nil
}
