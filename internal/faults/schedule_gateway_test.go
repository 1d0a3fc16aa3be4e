package faults

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

var sprintf = fmt.Sprintf

// gatewayCall is an application using d's API client through instance
// in's gateway, over HTTP, as Verizon documents it: a token, a session
// login (the portal's, never ThingSpace's), then one device call.
func (w *world) gatewayCall(ctx context.Context, op opPlan, in *instance, d *sdept) string {
	c := &http.Client{}
	form := strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.web.URL+"/api/ts/v1/oauth2/token", form)
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(d.client.Client.ID+":"+d.client.Secret)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, body, err := roundTrip(c, req)
	var tok struct {
		AccessToken  string `json:"access_token"`
		SessionToken string `json:"sessionToken"`
	}
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &tok) != nil {
		return sprintf("token: %d %v", status, err)
	}
	bearer := tok.AccessToken
	status, body, err = gwSend(ctx, c, in.web.URL, "/api/m2m/v1/session/login", bearer, "",
		map[string]string{"username": d.client.Client.ID, "password": d.client.Secret})
	if err != nil || status != http.StatusOK || json.Unmarshal(body, &tok) != nil {
		return sprintf("login: %d %v", status, err)
	}
	path, payload := "/api/m2m/v1/devices/actions/list", any(map[string]any{"accountName": d.account, "maxNumberOfDevices": 5})
	if op.Kind == opGatewayAct {
		dev := d.devices[op.Device%len(d.devices)]
		path = "/api/m2m/v1/devices/actions/" + string(deviceOp(op))
		payload = map[string]any{"accountName": d.account, "devices": []any{map[string]any{"deviceIds": []any{dev}}}}
	}
	status, body, err = gwSend(ctx, c, in.web.URL, path, bearer, tok.SessionToken, payload)
	return sprintf("%s: %d %v %.120s", path[strings.LastIndexByte(path, '/')+1:], status, err, body)
}

func gwSend(ctx context.Context, c *http.Client, base, path, bearer, session string, payload any) (int, []byte, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	if session != "" {
		req.Header.Set("VZ-M2M-Token", session)
	}
	return roundTrip(c, req)
}

func roundTrip(c *http.Client, req *http.Request) (int, []byte, error) {
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}
