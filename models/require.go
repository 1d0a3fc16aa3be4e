package models

// Require returns ErrUnauthorized for nobody and a forbidden error unless
// p holds perm for dept ("" for a global permission). Every use case
// starts with it.
func (p *Principal) Require(perm Permission, dept string) error {
	if p.Anonymous() {
		return ErrUnauthorized
	}
	if !p.Can(perm, dept) {
		return Errorf(ErrForbidden, "You do not have permission to do that.")
	}
	return nil
}

// Visible is the department filter of perm for p: nil for every
// department, else the ones p holds it for.
func (p *Principal) Visible(perm Permission) []string {
	if p.SeesAll(perm) {
		return nil
	}
	return append([]string{}, p.Departments(perm)...)
}

// SystemPrincipal acts for the scheduler and for recovery.
func SystemPrincipal(name string) *Principal {
	return &Principal{Actor: ActorSystem, Name: name, Grants: []Grant{{Role: RoleAdmin}}}
}
