package models

// DepartmentSettings are the fields of a department an admin edits on its
// settings form; the schedule has its own form and method, so that two
// people saving the two forms at once do not undo each other.
type DepartmentSettings struct {
	Name          string
	Protocol      Protocol
	RevealAllowed bool
	AccountName   string
	// Approvals: which actions need a second person's approval.
	Approvals ApprovalRules
}
