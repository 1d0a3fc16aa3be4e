package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/uwsportal/uwsportal/internal/auditlog"
	"github.com/uwsportal/uwsportal/internal/clock"

	"github.com/labstack/echo/v4"

	"github.com/uwsportal/uwsportal/models"
)

// writeWindow is how long each stretch of an export may take to write; the
// deadline moves forward as rows go out, so only a stalled client is cut.
const writeWindow = 60 * time.Second

// auditExport serves POST /audit/export.csv and /audit/export.ndjson: the
// filtered set (the same parameters as /audit, posted), streamed, in one of
// the few slots for heavy work.
func (s *Server) auditExport(format string) echo.HandlerFunc {
	ctype := map[string]string{auditlog.ExportCSV: "text/csv; charset=utf-8", auditlog.ExportNDJSON: "application/x-ndjson"}[format]
	return func(c echo.Context) error {
		form, err := c.FormParams()
		if err != nil {
			return models.Errorf(models.ErrInvalid, "The export form could not be read.")
		}
		f, err := models.ParseAuditFilter(form, s.auditZone(), s.now())
		if err != nil {
			return err
		}
		release, err := s.heavySlot(c)
		if err != nil {
			return err
		}
		defer release()
		w := &exportWriter{
			c: c, rc: http.NewResponseController(c.Response()), ctype: ctype,
			filename: exportFilename(f, s.now().In(s.auditZone()), format),
		}
		_, err = s.trail.ExportAudit(c.Request().Context(), principal(c), meta(c), f, format, w)
		if err != nil {
			// Before the first byte this is a clean error page; after it the
			// error handler can only log, and the client sees a short file.
			return err
		}
		w.start() // an empty NDJSON export writes nothing but is still a file
		return nil
	}
}

// exportFilename carries the range: uwsportal-audit-<since>-<until>.<ext>.
func exportFilename(f models.AuditFilter, now time.Time, ext string) string {
	compact := func(s string) string {
		if len(s) > len("2006-01-02T15:04") {
			s = s[:len("2006-01-02T15:04")]
		}
		return strings.NewReplacer("-", "", ":", "").Replace(s)
	}
	since, until := "begin", compact(now.Format("2006-01-02"))
	if v := f.FormatSince(); v != "" {
		since = compact(v)
	}
	if v := f.FormatUntil(); v != "" {
		until = compact(v)
	}
	return "uwsportal-audit-" + since + "-" + until + "." + ext
}

// exportWriter sends the headers with the first byte, so that an error
// found before any row (permission, bad format) still becomes an ordinary
// error page rather than an attachment, and keeps the write deadline ahead
// of a long stream.
type exportWriter struct {
	c        echo.Context
	rc       *http.ResponseController
	ctype    string
	filename string
	started  bool
	extended *clock.Stopwatch // since the write deadline was last moved
}

func (w *exportWriter) start() {
	if w.started {
		return
	}
	w.started = true
	h := w.c.Response().Header()
	h.Set(echo.HeaderContentType, w.ctype)
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+w.filename+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	w.c.Response().WriteHeader(http.StatusOK)
}

func (w *exportWriter) Write(p []byte) (int, error) {
	w.start()
	if w.extended == nil || w.extended.Elapsed() > time.Second {
		if err := w.rc.SetWriteDeadline(clock.Deadline(writeWindow)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return 0, err
		}
		watch := clock.Start()
		w.extended = &watch
	}
	n, err := w.c.Response().Write(p)
	if err != nil {
		return n, clientWriteError{err}
	}
	return n, nil
}
