package auth

import (
	"context"
	"errors"
	"net/http"
	"slices"
)

// Via says how a request proved who it is.
type Via int

const (
	ViaBearerHeader Via = iota + 1 // Authorization: Bearer
	ViaCookie                      // the ss-tok cookie
	ViaBasic                       // HTTP Basic with AccountSid:AuthToken
)

// Principal is who a request comes from and what it may read.
type Principal struct {
	Subject    string
	UserName   string // the sign-in name, for tokens issued by a sign-in
	Name       string
	Roles      []string
	AccountIDs []string // the accounts the token names (for Basic: the account itself)
	Via        Via
}

// HasAnyRole reports whether the principal holds one of the roles.
func (p *Principal) HasAnyRole(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(p.Roles, r) {
			return true
		}
	}
	return false
}

// ReadsEveryAccount is true for system administrators.
func (p *Principal) ReadsEveryAccount() bool {
	return p.Via != ViaBasic && p.HasAnyRole(RoleSystemAdministrator)
}

// Error is an authentication or authorization failure. Each API face renders
// it in its own error format.
type Error struct {
	Status  int    // 401, 403 or 404
	Code    string // Unauthorized, TokenException, Forbidden, NotFound
	Message string
}

func (e *Error) Error() string { return e.Message }

// Errors every face renders.
func Unauthorized(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "Unauthorized", Message: msg}
}

func tokenError(msg string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: "TokenException", Message: msg}
}

func Forbidden(msg string) *Error {
	return &Error{Status: http.StatusForbidden, Code: "Forbidden", Message: msg}
}

// Lineages finds an account's lineage: the account, its parent, and so on up.
// It is the one thing the scope check needs from storage.
type Lineages interface {
	Lineage(ctx context.Context, sid string) ([]string, error)
}

// Scope decides which accounts a principal may read.
type Scope struct {
	lineages Lineages
	notFound error // what Lineages returns for an unknown account
}

// NewScope builds the check over storage; notFound is the error the storage
// returns for an unknown account.
func NewScope(l Lineages, notFound error) *Scope { return &Scope{lineages: l, notFound: notFound} }

// CheckRead allows a principal to read an account when it reads every account
// (SystemAdministrator), or when the account, or one of its ancestors, is one
// the principal holds (a Manager's accountIds, a Basic caller's own account).
// An unknown account is 404 only for those who may read every account; anyone
// else gets the same 403 as for an existing account out of scope, so that
// account SIDs cannot be probed.
func (s *Scope) CheckRead(ctx context.Context, p *Principal, sid string) error {
	lineage, err := s.lineages.Lineage(ctx, sid)
	return s.Decide(p, sid, lineage, err)
}

// Decide is CheckRead on a lineage the caller looked up itself (with err,
// the lookup's error), for callers that read the lineage together with
// other things in one query.
func (s *Scope) Decide(p *Principal, sid string, lineage []string, err error) error {
	if errors.Is(err, s.notFound) {
		if p.ReadsEveryAccount() {
			return &Error{Status: http.StatusNotFound, Code: "NotFound", Message: "Account " + sid + " does not exist"}
		}
		return Forbidden("You may not read account " + sid)
	}
	if err != nil {
		return err
	}
	if p.ReadsEveryAccount() {
		return nil
	}
	for _, a := range lineage {
		if slices.Contains(p.AccountIDs, a) {
			return nil
		}
	}
	return Forbidden("You may not read account " + sid)
}
