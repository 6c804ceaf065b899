package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/tend-cs/tend/control"
	"github.com/tend-cs/tend/engine"
	"github.com/tend-cs/tend/engine/lang"
)

// explainID returns the customer of GET /v1/customers/{id}/explain. The
// customer route takes the rest of the path as the id, since ids may hold
// slashes: a path that ends in a literal /explain is this endpoint, and a
// customer whose id ends in "/explain" is read with that slash encoded
// (/v1/customers/a%2Fexplain).
func explainID(r *http.Request) (string, bool) {
	if !strings.HasSuffix(r.URL.EscapedPath(), "/explain") {
		return "", false
	}
	return strings.CutSuffix(r.PathValue("id"), "/explain")
}

// explainCustomer is GET /v1/customers/{id}/explain[?playbook=P]: why each
// playbook (or P) did or did not start for the customer at its last event
// and its last daily check. 404 for an unknown customer, 400 for a
// playbook the customer's set does not have.
func (s *Server) explainCustomer(w http.ResponseWriter, r *http.Request, id string) {
	q := r.URL.Query()
	if !checkQuery(w, q, "playbook") {
		return
	}
	if err := lang.CheckCustomerID(id); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.reachable(w) {
		return
	}
	ctx, cancel := requestContext(r)
	defer cancel()
	ex, err := control.Explain(ctx, s.opts.Client, id, q.Get("playbook"))
	switch {
	case errors.Is(err, engine.ErrUnknownPlaybook):
		writeError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		s.fail(w, r, err)
	default:
		writeJSON(w, http.StatusOK, ex)
	}
}
