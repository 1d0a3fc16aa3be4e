package models

// Permission names one action of the permission table in docs/design.md.
type Permission string

const (
	// PermPublic needs nobody signed in: health checks, sign-in pages.
	PermPublic Permission = "public"
	// PermSignedIn needs a signed-in person, whatever their roles.
	PermSignedIn Permission = "signed-in"

	PermViewDashboard     Permission = "dashboard.view"
	PermViewDepartment    Permission = "department.view"
	PermManageDepartments Permission = "department.manage"
	PermMapGroups         Permission = "mapping.manage"
	PermTestLogin         Permission = "credential.test"
	PermRotate            Permission = "credential.rotate"
	PermSetSchedule       Permission = "credential.schedule"
	PermClearQuarantine   Permission = "credential.clear-quarantine"
	PermReveal            Permission = "credential.reveal"
	PermViewAudit         Permission = "audit.view"
	PermExportAudit       Permission = "audit.export"
	PermVerifyAudit       Permission = "audit.verify"
	PermViewUsers         Permission = "users.view"
	PermManageUsers       Permission = "users.manage"
	// PermUseDevices opens a department's devices pages; which operation
	// each role may do there is the department's device policy.
	PermUseDevices Permission = "devices.use"
	// PermManageAPIClients creates, rotates and revokes a department's API
	// clients (a lead only within their own device operations).
	PermManageAPIClients Permission = "api_clients.manage"
	// PermGateway marks the gateway's routes (/api/...): they are not for
	// people; the gateway's own bearer tokens and session handles decide.
	PermGateway Permission = "gateway"
	// PermCallback marks ThingSpace's callback listener: not for people;
	// the username and password ThingSpace echoes decide.
	PermCallback Permission = "callback"
	// PermManageNotifications adds, removes and tests notification channels.
	PermManageNotifications Permission = "notify.manage"
	// PermDecideApprovals approves or refuses another person's request
	// (dual control); asking uses the action's own permission.
	PermDecideApprovals Permission = "approval.decide"
)

// Scope says over which departments a role holds a permission.
type Scope int

const (
	ScopeNone Scope = iota
	ScopeOwn        // only departments where the role is held
	ScopeAll        // every department
)

// PermissionTable is the table of docs/design.md, the single source of truth. Anything
// not listed is denied.
var PermissionTable = map[Permission]map[Role]Scope{
	PermViewDashboard:       {RoleAdmin: ScopeAll, RoleAuditor: ScopeAll, RoleLead: ScopeOwn, RoleMember: ScopeOwn},
	PermViewDepartment:      {RoleAdmin: ScopeAll, RoleAuditor: ScopeAll, RoleLead: ScopeOwn, RoleMember: ScopeOwn},
	PermManageDepartments:   {RoleAdmin: ScopeAll},
	PermMapGroups:           {RoleAdmin: ScopeAll},
	PermTestLogin:           {RoleAdmin: ScopeAll, RoleLead: ScopeOwn},
	PermRotate:              {RoleAdmin: ScopeAll, RoleLead: ScopeOwn},
	PermSetSchedule:         {RoleAdmin: ScopeAll, RoleLead: ScopeOwn},
	PermClearQuarantine:     {RoleAdmin: ScopeAll},
	PermReveal:              {RoleAdmin: ScopeAll, RoleLead: ScopeOwn},
	PermViewAudit:           {RoleAdmin: ScopeAll, RoleAuditor: ScopeAll, RoleLead: ScopeOwn},
	PermExportAudit:         {RoleAdmin: ScopeAll, RoleAuditor: ScopeAll},
	PermVerifyAudit:         {RoleAdmin: ScopeAll, RoleAuditor: ScopeAll},
	PermViewUsers:           {RoleAdmin: ScopeAll, RoleAuditor: ScopeAll},
	PermManageUsers:         {RoleAdmin: ScopeAll},
	PermUseDevices:          {RoleAdmin: ScopeAll, RoleLead: ScopeOwn, RoleMember: ScopeOwn},
	PermManageAPIClients:    {RoleAdmin: ScopeAll, RoleLead: ScopeOwn},
	PermManageNotifications: {RoleAdmin: ScopeAll},
	PermDecideApprovals:     {RoleAdmin: ScopeAll, RoleLead: ScopeOwn},
}

// Principal is the person (or process) on whose behalf work is done.
type Principal struct {
	UserID int64
	// Actor is the audit actor: the user ID as text, "system" or "cli:<os user>".
	Actor string
	Name  string
	// Local marks a break-glass local account.
	Local  bool
	Grants []Grant
}

// Anonymous reports whether nobody is signed in.
func (p *Principal) Anonymous() bool { return p == nil || p.Actor == "" }

// Can reports whether p may perform perm on department dept. An empty dept
// asks "in at least one department": for a page that lists what p may see.
func (p *Principal) Can(perm Permission, dept string) bool {
	switch perm {
	case PermPublic:
		return true
	case PermSignedIn:
		return !p.Anonymous()
	}
	if p.Anonymous() {
		return false
	}
	for _, g := range p.Grants {
		switch PermissionTable[perm][g.Role] {
		case ScopeAll:
			return true
		case ScopeOwn:
			if dept == "" || g.Department == dept {
				return true
			}
		}
	}
	return false
}

// SeesAll reports whether p holds perm over every department, so that a
// listing need not be filtered by department.
func (p *Principal) SeesAll(perm Permission) bool {
	if p.Anonymous() {
		return false
	}
	for _, g := range p.Grants {
		if PermissionTable[perm][g.Role] == ScopeAll {
			return true
		}
	}
	return false
}

// Departments returns the departments in which p holds perm through a
// per-department role. Callers check SeesAll first.
func (p *Principal) Departments(perm Permission) []string {
	var out []string
	if p.Anonymous() {
		return out
	}
	for _, g := range p.Grants {
		if g.Department != "" && PermissionTable[perm][g.Role] == ScopeOwn {
			out = append(out, g.Department)
		}
	}
	return out
}

// HasAnyRole reports whether p holds any role at all; a signed-in person
// with none sees the "no access yet" page.
func (p *Principal) HasAnyRole() bool { return !p.Anonymous() && len(p.Grants) > 0 }

// RoleNames lists p's grants as text, for the audit trail.
func (p *Principal) RoleNames() []string {
	out := []string{}
	if p == nil {
		return out
	}
	for _, g := range p.Grants {
		out = append(out, g.String())
	}
	return out
}
