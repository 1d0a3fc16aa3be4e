package models

import "strings"

// Event codes: stable, dotted, never renamed once released. docs/audit-events.md
// lists them for users (a test keeps it in step with this catalogue).
const (
	EvSignInSucceeded     = "auth.signin.succeeded"
	EvSignInFailed        = "auth.signin.failed"
	EvSignOut             = "auth.signout"
	EvSessionExpired      = "auth.session.expired"
	EvGroupsRefreshed     = "auth.groups.refreshed"
	EvBreakGlassSucceeded = "auth.breakglass.succeeded"
	EvBreakGlassFailed    = "auth.breakglass.failed"
	EvAccessDenied        = "access.denied"
	EvFailuresSummarized  = "auth.failures.summarized"

	EvUserDisabled   = "user.disabled"
	EvUserEnabled    = "user.enabled"
	EvLocalAdminSet  = "user.local_admin.created"
	EvMappingCreated = "mapping.created"
	EvMappingDeleted = "mapping.deleted"

	EvDepartmentCreated = "department.created"
	EvDepartmentUpdated = "department.updated"
	EvScheduleChanged   = "department.schedule.changed"

	EvCredentialCreated   = "credential.created"
	EvCredentialReplaced  = "credential.replaced"
	EvCredentialRevealed  = "credential.revealed"
	EvCredentialTested    = "credential.tested"
	EvQuarantined         = "credential.quarantined"
	EvQuarantineCleared   = "credential.quarantine.cleared"
	EvFailuresReset       = "credential.failures.reset"
	EvRotateStarted       = "credential.rotate.started"
	EvRotateApplied       = "credential.rotate.applied"
	EvRotateVerified      = "credential.rotate.verified"
	EvRotateFailed        = "credential.rotate.failed"
	EvRotateUnknown       = "credential.rotate.unknown"
	EvRotateResolved      = "credential.rotate.resolved"
	EvUpstreamLoginOK     = "upstream.login.succeeded"
	EvUpstreamLoginFailed = "upstream.login.failed"
	EvUpstreamLoginGuard  = "upstream.login.refused"

	EvDevicePolicyChanged = "department.device_policy.changed"
	EvDeviceList          = "device.list"
	EvDeviceSuspend       = "device.suspend"
	EvDeviceRestore       = "device.restore"
	EvDeviceActivate      = "device.activate"
	EvDevicePlan          = "device.plan"
	EvDeviceDeactivate    = "device.deactivate"

	EvDeviceRequestSent      = "device.request.sent"
	EvDeviceRequestSucceeded = "device.request.succeeded"
	EvDeviceRequestFailed    = "device.request.failed"
	EvDeviceRequestUnknown   = "device.request.unknown"
	EvDeviceRequestReopened  = "device.request.reopened"
	EvCallbackUnmatched      = "device.callback.unmatched"
	EvCallbackRefused        = "device.callback.refused"
	EvCallbackRegistered     = "department.callback.registered"
	EvCallbackDeregistered   = "department.callback.deregistered"
	EvClientListenerSet      = "api_client.callback.registered"
	EvClientListenerRemoved  = "api_client.callback.deregistered"

	EvAPIClientCreated = "api_client.created"
	EvAPIClientRotated = "api_client.secret.rotated"
	EvAPIClientRevoked = "api_client.revoked"
	EvGatewayToken     = "gateway.token"
	EvGatewaySession   = "gateway.session"
	EvGatewayCall      = "gateway.call"
	EvGatewayRefused   = "gateway.refused"

	EvRotateBackedOff      = "credential.rotate.backed_off"
	EvNotifyChannelAdded   = "notify.channel.added"
	EvNotifyChannelRemoved = "notify.channel.removed"
	EvNotifyChannelTested  = "notify.channel.tested"
	EvNetworkAllowed       = "outbound.network.allowed"
	EvNetworkRemoved       = "outbound.network.removed"

	EvApprovalRequested = "approval.requested"
	EvApprovalApproved  = "approval.approved"
	EvApprovalRefused   = "approval.refused"
	EvApprovalExpired   = "approval.expired"
	EvApprovalUsed      = "approval.used"

	EvMigrated      = "system.migrated"
	EvRekey         = "system.rekey"
	EvMasterKeys    = "system.master_keys"
	EvAuditExported = "audit.exported"
	EvAuditVerified = "audit.verified"
)

// EventSpec documents one event code.
type EventSpec struct {
	Code       string
	Meaning    string
	DetailKeys []string
}

// Catalogue lists every event the portal writes.
var Catalogue = []EventSpec{
	{EvSignInSucceeded, "A person signed in through the identity provider.", []string{"issuer", "subject", "roles", "groups"}},
	{EvSignInFailed, "A sign-in through the identity provider failed.", []string{"reason", "issuer", "subject"}},
	{EvSignOut, "A person signed out.", []string{"rp_logout"}},
	{EvSessionExpired, "A session ended by idle or absolute timeout, or because the user was disabled.", []string{"reason"}},
	{EvGroupsRefreshed, "A signed-in person's groups were re-read from the identity provider and their roles changed.", []string{"groups", "roles_before", "roles"}},
	{EvBreakGlassSucceeded, "A break-glass local admin signed in.", []string{"username"}},
	{EvBreakGlassFailed, "A break-glass sign-in failed or was throttled.", []string{"username", "reason"}},
	{EvFailuresSummarized, "Anonymous failures from one address in one window, or an API client's gateway refusals for one reason in one window (actor: the client; reason), after the first (which has its own event), counted rather than written one by one.", []string{"code", "source", "reason", "count", "first_event", "window_start", "window_seconds"}},
	{EvAccessDenied, "A signed-in person asked for something their roles do not allow.", []string{"method", "path", "permission"}},
	{EvUserDisabled, "An admin disabled a user; their sessions ended at once.", []string{"user_id"}},
	{EvUserEnabled, "An admin enabled a user again.", []string{"user_id"}},
	{EvLocalAdminSet, "A break-glass local admin was created or its password replaced (command line).", []string{"username"}},
	{EvMappingCreated, "An IdP group was mapped to a role (and department).", []string{"group", "role", "department"}},
	{EvMappingDeleted, "A group mapping was removed.", []string{"group", "role", "department"}},
	{EvDepartmentCreated, "A department was created.", []string{"slug", "name", "protocol", "max_age_days", "account_name"}},
	{EvDepartmentUpdated, "A department's settings changed.", []string{"changes", "account_name", "gateway_ceiling"}},
	{EvScheduleChanged, "Scheduled rotation was turned on or off, or its maximum age changed.", []string{"enabled", "max_age_days"}},
	{EvCredentialCreated, "A department's UWS credential was entered for the first time.", []string{"username", "version", "verified"}},
	{EvCredentialReplaced, "A credential was replaced by an admin (version numbers, never values).", []string{"username", "old_version", "new_version", "verified"}},
	{EvCredentialRevealed, "The current password was shown to a person, with their reason.", []string{"reason", "version"}},
	{EvCredentialTested, "A test login (and logout) was made with the credential.", []string{"result", "upstream_code"}},
	{EvQuarantined, "Consecutive failed upstream logins reached the threshold: all automatic use stopped.", []string{"consecutive_failures", "threshold", "upstream_code"}},
	{EvQuarantineCleared, "An admin cleared a quarantine after fixing the credential.", []string{"previous_state"}},
	{EvFailuresReset, "An admin stated that Verizon reset the username's failed-login count (account unlocked, or password set in ThingSpace Manage): the portal's count since the last successful login starts again from 0.", []string{"username", "failures_since_success"}},
	{EvRotateStarted, "A rotation began (resetting committed before the upstream call).", []string{"run_id", "trigger", "version"}},
	{EvRotateApplied, "ThingSpace returned the new password and it was stored encrypted.", []string{"run_id", "version"}},
	{EvRotateVerified, "A login with the new password worked; the rotation is complete.", []string{"run_id", "version"}},
	{EvRotateFailed, "ThingSpace rejected the reset (nothing changed) or the new password failed verification.", []string{"run_id", "upstream_code", "state"}},
	{EvRotateUnknown, "The reset's answer was lost: the outcome is unknown until resolved.", []string{"run_id", "reason"}},
	{EvRotateResolved, "An unknown rotation was resolved (old password still works, or attention needed).", []string{"run_id", "state"}},
	{EvUpstreamLoginOK, "A ThingSpace login with the credential succeeded.", []string{"purpose", "protocol"}},
	{EvUpstreamLoginFailed, "A ThingSpace login failed.", []string{"purpose", "protocol", "upstream_code", "class", "consecutive_failures"}},
	{EvUpstreamLoginGuard, "The lockout guard refused a login attempt before it was made.", []string{"purpose", "consecutive_failures"}},
	{EvMigrated, "Database migrations were applied.", []string{"applied", "version"}},
	{EvRekey, "Secrets were re-encrypted under the current master key.", []string{"rows", "key_id"}},
	{EvMasterKeys, "The master keys were stored wrapped by a KMS key in the database, or removed from it to be kept plain.", []string{"kms", "key_ids"}},
	{EvAuditExported, "The audit trail was exported.", []string{"format", "filters", "rows"}},
	{EvAuditVerified, "The audit chain was verified, whole (full) or from the last checkpoint (the latest successful audit.verified event, whose through and through_hash name the last event it verified and that event's hash). A successful one is the next checkpoint.", []string{"ok", "events", "full", "from", "checkpoint", "through", "through_hash", "first_bad", "reason"}},
	{EvDevicePolicyChanged, "An admin changed which roles may do which device operation in a department.", []string{"before", "after"}},
	{EvDeviceList, "A person listed or searched a department's devices through its credential.", []string{"operation", "account", "username", "q", "state", "count", "upstream_code"}},
	{EvDeviceSuspend, "A person asked ThingSpace to suspend a device; result accepted, refused or unknown (answer lost, not retried).", []string{"operation", "account", "username", "device", "result", "request_id", "upstream_code"}},
	{EvDeviceRestore, "A person asked ThingSpace to restore a suspended device.", []string{"operation", "account", "username", "device", "result", "request_id", "upstream_code"}},
	{EvDeviceActivate, "A person asked ThingSpace to activate a device on a service plan.", []string{"operation", "account", "username", "device", "result", "request_id", "service_plan", "upstream_code"}},
	{EvDevicePlan, "A person asked ThingSpace to change a device's service plan.", []string{"operation", "account", "username", "device", "result", "request_id", "service_plan", "upstream_code"}},
	{EvDeviceDeactivate, "A person asked ThingSpace to deactivate a device (after typing its MDN or ICCID).", []string{"operation", "account", "username", "device", "result", "request_id", "reason_code", "etf_waiver", "upstream_code"}},
	{EvDeviceRequestSent, "An application's device action through the gateway was sent and recorded as a device request to follow (a person's is recorded by its device.<operation> event).", []string{"request_id", "operation", "account", "devices", "status", "client_id"}},
	{EvDeviceRequestSucceeded, "ThingSpace reported that a device request was done (by callback or status read); attributed to who asked, linked to the send's event.", []string{"request", "request_id", "operation", "devices", "how", "first_event", "took_seconds", "early_callback"}},
	{EvDeviceRequestFailed, "ThingSpace reported that a device request failed, with its fault text; attributed to who asked, linked to the send's event.", []string{"request", "request_id", "operation", "devices", "how", "first_event", "fault", "took_seconds", "early_callback"}},
	{EvDeviceRequestUnknown, "Nobody learned a device request's outcome within a day of status reads: it stays unknown (a later callback may still end it).", []string{"request", "request_id", "operation", "devices", "first_event", "polls"}},
	{EvDeviceRequestReopened, "A request whose send's answer was lost had taken a callback by its devices; the send that callback belonged to was recorded since and took it back, so the request is unknown again and followed anew.", []string{"request", "request_id", "taken_by", "operation", "devices", "first_event"}},
	{EvCallbackUnmatched, "A CarrierService callback named a request id the portal had not sent (a change made in ThingSpace Manage or by another system), or that it had not recorded yet.", []string{"request_id", "account", "status", "devices", "fault"}},
	{EvCallbackRefused, "The callback listener refused a message (wrong or missing username and password, malformed, too big, unknown account); nothing was recorded as an outcome.", []string{"reason", "account", "status"}},
	{EvCallbackRegistered, "The portal registered itself as a department account's CarrierService listener (a random username and password, sealed; never recorded).", []string{"account", "url"}},
	{EvCallbackDeregistered, "The portal removed its CarrierService listener for a department account.", []string{"account"}},
	{EvClientListenerSet, "An application registered its own callback listener through the gateway (nothing is forwarded upstream).", []string{"client_id", "service", "url"}},
	{EvClientListenerRemoved, "An application removed its callback listener.", []string{"client_id", "service"}},
	{EvAPIClientCreated, "An API client was created for a department (its secret is shown once, never stored); role is its maker's, whose device policy bounds it at every call.", []string{"client_id", "name", "owner", "operations", "role", "expires_at"}},
	{EvAPIClientRotated, "An API client's secret was replaced; the old one works until the overlap ends.", []string{"client_id", "overlap_seconds", "prev_until"}},
	{EvAPIClientRevoked, "An API client was revoked: its tokens and handles stop working at the next call.", []string{"client_id"}},
	{EvGatewayToken, "An application obtained (or was refused) a gateway bearer token.", []string{"client_id", "owner", "result"}},
	{EvGatewaySession, "An application logged in to (or out of) the gateway with its API client.", []string{"client_id", "owner", "action", "result"}},
	{EvGatewayCall, "An application's device call through the gateway: ThingSpace's status and request id, or why it was not answered.", []string{"client_id", "owner", "operation", "account", "devices", "upstream_status", "request_id", "idempotent_replay", "upstream_code"}},
	{EvApprovalRequested, "A person asked for a second person's approval to reveal, deactivate (the exact devices) or rotate now, with a reason.", []string{"approval_id", "action", "requester", "requester_name", "reason", "expires_at", "devices"}},
	{EvApprovalApproved, "An admin or a lead of the department (never the requester) approved a request: the requester may do that action once before expires_at.", []string{"approval_id", "action", "requester", "requester_name", "note", "expires_at", "devices"}},
	{EvApprovalRefused, "An admin or a lead of the department (never the requester) refused a request.", []string{"approval_id", "action", "requester", "requester_name", "note", "devices"}},
	{EvApprovalExpired, "A request nobody decided within 24 hours, or an approval not used within its window, expired.", []string{"approval_id", "action", "requester", "requester_name", "previous_state", "expires_at", "devices"}},
	{EvApprovalUsed, "The requester went ahead with the approved action and the approval is spent: written before anything is sent upstream, in the transaction of credential.revealed or credential.rotate.started (deactivate: just before the call, whose result device.deactivate records).", []string{"approval_id", "action", "requester", "requester_name", "approver", "approver_name", "devices"}},
	{EvGatewayRefused, "The gateway refused an application's request before anything was sent upstream.", []string{"client_id", "owner", "operation", "reason", "status", "path"}},
	{EvRotateBackedOff, "A scheduled rotation ended without a new password; the scheduler waits before the next attempt.", []string{"result", "failures", "next_attempt"}},
	{EvNotifyChannelAdded, "An admin added a notification channel (its URL and signing secret are sealed, never recorded).", []string{"channel_id", "kind", "target", "department", "events"}},
	{EvNotifyChannelRemoved, "An admin removed a notification channel; its pending deliveries were dropped.", []string{"channel_id", "kind", "target", "department"}},
	{EvNotifyChannelTested, "An admin sent a test notification to a channel.", []string{"channel_id", "kind", "target", "result", "error"}},
	{EvNetworkAllowed, "An admin allowed notification targets (and callbacks) to reach a private network, by name.", []string{"network_id", "name", "network"}},
	{EvNetworkRemoved, "An admin removed an allowed private network: targets there are refused from the next connection.", []string{"network_id", "name", "network"}},
}

// KnownEvent reports whether code is in the catalogue.
func KnownEvent(code string) bool {
	for _, s := range Catalogue {
		if s.Code == code {
			return true
		}
	}
	return false
}

// KnownEventPrefix reports whether some event code starts with prefix.
func KnownEventPrefix(prefix string) bool {
	for _, s := range Catalogue {
		if strings.HasPrefix(s.Code, prefix) {
			return true
		}
	}
	return false
}
