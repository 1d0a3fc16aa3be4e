// Package api holds the OpenAPI description of the portal's ThingSpace
// gateway, served at /api/openapi.json. web's TestOpenAPIDescribesEveryGatewayRoute
// fails when a gateway route is missing from it or it names one not routed.
package api

import _ "embed"

// OpenAPI is the gateway's OpenAPI 3.1 description.
//
//go:embed openapi.json
var OpenAPI []byte
