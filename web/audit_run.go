package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/models"
	"github.com/uwsportal/uwsportal/templates"
)

// auditVerifyForm is GET /audit/verify: the button that starts a
// verification. A GET does no work and writes nothing.
func (s *Server) auditVerifyForm(c echo.Context) error {
	return render(c, http.StatusOK, templates.AuditVerifyForm(s.page(c, "Audit chain")))
}

// auditVerify is POST /audit/verify: walk the chain, whole (scope=full,
// the default) or from the last verification's checkpoint (scope=new), in
// one of the few slots for heavy work, and show the result.
func (s *Server) auditVerify(c echo.Context) error {
	walk := s.trail.VerifyAudit
	switch c.FormValue("scope") {
	case "", "full":
	case "new":
		walk = s.trail.VerifyAuditIncremental
	default:
		return models.Errorf(models.ErrInvalid, "Choose the whole chain or the events since the last verification.")
	}
	release, err := s.heavySlot(c)
	if err != nil {
		return err
	}
	defer release()
	res, err := walk(c.Request().Context(), principal(c), meta(c))
	if err != nil {
		return err
	}
	v := templates.AuditVerifyView{
		OK: res.OK, Events: res.Events, FirstBad: res.FirstBad, Reason: res.Reason,
		Checked: res.Checked.In(s.auditZone()).Format("2006-01-02 15:04:05 MST"),
		Full:    res.Full, From: res.From, Checkpoint: res.Checkpoint,
	}
	if res.Checkpoint != 0 {
		v.CheckpointHref = "/audit/" + strconv.FormatInt(res.Checkpoint, 10)
	}
	if !res.OK {
		v.FirstBadHref = "/audit/" + strconv.FormatInt(res.FirstBad, 10)
	}
	return render(c, http.StatusOK, templates.AuditVerify(s.page(c, "Audit chain"), v))
}

// auditExportForm is GET /audit/export.csv and .ndjson: what will be
// exported, and the button that posts it back.
func (s *Server) auditExportForm(format string) echo.HandlerFunc {
	return func(c echo.Context) error {
		f, err := models.ParseAuditFilter(c.QueryParams(), s.auditZone(), s.now())
		if err != nil {
			return err
		}
		if !principal(c).Can(models.PermExportAudit, "") {
			return models.Errorf(models.ErrForbidden, "You do not have permission to do that.")
		}
		v := templates.AuditExportFormView{Action: "/audit/export." + format, Format: strings.ToUpper(format)}
		q := f.Unpaged().Query()
		names := make([]string, 0, len(q))
		for k := range q {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			v.Filters = append(v.Filters, templates.HiddenArg{Name: k, Value: q.Get(k)})
		}
		return render(c, http.StatusOK, templates.AuditExportForm(s.page(c, "Export the audit trail"), v))
	}
}
