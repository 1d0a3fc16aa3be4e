package tsim

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
)

const (
	soapEnvNS      = "http://schemas.xmlsoap.org/soap/envelope/"
	soapV2NS       = "http://nphase.com/unifiedwebservice/v2"
	soapContractNS = "http://schemas.datacontract.org/2004/07/NPhase.UnifiedWebService.APIs.v2.Contract.SessionService"
	soapActionBase = "http://nphase.com/unifiedwebservice/v2/ISessionService/"
	wcfAddressing  = "http://schemas.microsoft.com/ws/2005/05/addressing/none"
)

// soapRequest is what the simulator reads from a request envelope, with the
// namespaces a WCF service checks.
type soapRequest struct {
	envNS    string
	op       xml.Name // first element of Body
	input    xml.Name // first element of the operation ("Input")
	token    string   // the <v2:token> SOAP header
	hasToken bool
	fields   map[string]string // leaf elements under Input in the contract namespace
	foreign  bool              // a leaf under Input in another namespace
}

func parseSOAPRequest(body []byte) (soapRequest, error) {
	req := soapRequest{fields: make(map[string]string)}
	d := xml.NewDecoder(bytes.NewReader(body))
	var stack []xml.Name
	var text strings.Builder
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return req, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			req.start(stack, t.Name)
			stack = append(stack, t.Name)
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			req.end(stack, strings.TrimSpace(text.String()))
			text.Reset()
			stack = stack[:len(stack)-1]
		}
	}
	if req.op.Local == "" {
		return req, errors.New("no operation in SOAP body")
	}
	return req, nil
}

func (req *soapRequest) start(stack []xml.Name, n xml.Name) {
	switch {
	case len(stack) == 0:
		req.envNS = n.Space
	case len(stack) == 2 && stack[1].Local == "Body" && req.op.Local == "":
		req.op = n
	case len(stack) == 3 && stack[1].Local == "Body" && req.input.Local == "":
		req.input = n
	}
}

func (req *soapRequest) end(stack []xml.Name, text string) {
	n := stack[len(stack)-1]
	switch {
	case len(stack) == 3 && stack[1].Local == "Header" && n.Local == "token" && n.Space == soapV2NS:
		req.token, req.hasToken = text, true
	case len(stack) == 5 && stack[1].Local == "Body" && stack[3].Local == "Input":
		if n.Space != soapContractNS {
			req.foreign = true
		} else if _, ok := req.fields[n.Local]; !ok {
			req.fields[n.Local] = text
		}
	}
}

// inputOK reports whether the operation's Input is in the v2 namespace with
// its members in the contract namespace. LogOut has no members; whether it
// wraps an empty Input is unconfirmed, so both forms are accepted.
func (req *soapRequest) inputOK() bool {
	if req.op.Local == "LogOut" && req.input.Local == "" {
		return true
	}
	return req.input.Local == "Input" && req.input.Space == soapV2NS && !req.foreign
}

// soapOps are the SessionService operations the simulator serves.
var soapOps = map[string]bool{"LogIn": true, "LogOut": true, "GetNewPassword": true}

// check answers as WCF does to an envelope it cannot dispatch and reports
// whether the request may go on: a SOAP 1.1 envelope, a SOAPAction naming
// the operation of the body, the operation and its Input in the v2
// namespace, their members in the contract namespace, and a v2:token header
// on every operation but LogIn.
func (req *soapRequest) check(w http.ResponseWriter, r *http.Request) bool {
	action := strings.Trim(r.Header.Get("SOAPAction"), `"`)
	op := req.op.Local
	switch {
	case req.envNS != soapEnvNS:
		writeSOAPFault(w, "s:VersionMismatch", "", "The envelope is not a SOAP 1.1 envelope.")
	case action != soapActionBase+op || !soapOps[op]:
		writeSOAPFault(w, `a:ActionNotSupported`, "", "The message with Action '"+action+
			"' cannot be processed at the receiver, due to a ContractFilter mismatch at the EndpointDispatcher.")
	case req.op.Space != soapV2NS || !req.inputOK():
		writeSOAPFault(w, "s:Client", codeMalformed, "Expected element '"+op+"' with its Input in namespace '"+soapV2NS+
			"' and members in namespace '"+soapContractNS+"'.")
	case op != "LogIn" && (!req.hasToken || req.token == ""):
		writeSOAPFault(w, "s:Client", codeSessionMissing, "The session token header is missing.")
	default:
		return true
	}
	return false
}
