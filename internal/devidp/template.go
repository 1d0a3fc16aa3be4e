package devidp

import (
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
)

// pageStyle is the only styling; its hash in the CSP lets it run without
// 'unsafe-inline'.
const pageStyle = `body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
.warning{background:#fff3cd;border:2px solid #b8860b;padding:.75rem 1rem;font-weight:bold}
.error{background:#fde2e1;border:1px solid #b42318;padding:.5rem 1rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #ddd}
button{font:inherit;padding:.3rem .8rem;cursor:pointer}code{background:#f2f2f2;padding:0 .2rem}`

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}} · devidp</title>
<style>` + pageStyle + `</style>
</head>
<body>
<main>
<p class="warning" role="note" id="dev-warning">Development identity provider — for development only, never for production. Anyone can sign in as anyone, without a password.</p>
<h1>{{.Title}}</h1>
{{with .Message}}<p id="message">{{.}}</p>{{end}}
{{with .Error}}<p class="error" role="alert" id="login-error">{{.}}</p>{{end}}
{{if .Action}}
<p>The application <code>{{.ClientID}}</code> asks you to sign in. Pick a demo user:</p>
<form method="post" action="{{.Action}}" id="login-form">
<input type="hidden" name="authRequestID" id="authRequestID" value="{{.AuthRequestID}}">
{{template "users" .}}
</form>
{{else if .Users}}{{template "users" .}}{{end}}
</main>
</body>
</html>
{{define "users"}}<table>
<thead><tr><th scope="col">User</th><th scope="col">Email</th><th scope="col">Groups</th></tr></thead>
<tbody>
{{$form := .Action}}{{range .Users}}<tr>
<td>{{if $form}}<button type="submit" name="user" value="{{.Subject}}" id="user-{{.Subject}}">{{.Name}}</button>{{else}}{{.Name}}{{end}} <code>{{.Subject}}</code></td>
<td>{{.Email}}</td>
<td>{{range .Groups}}<code>{{.}}</code> {{else}}<em>none</em>{{end}}</td>
</tr>
{{end}}</tbody>
</table>{{end}}`))

var pageCSP = func() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; frame-ancestors 'none'; base-uri 'none'"
}()

// pageHeaders hardens devidp's own pages. There is no form-action
// directive: browsers apply it to the redirect chain that ends at the
// relying party. no-referrer keeps authRequestID out of other sites' logs.
func pageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
