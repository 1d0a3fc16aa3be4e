package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

// assets serves embedded static files under content-hashed names, so they
// can be cached for a year and still change the moment a release does.
type assets struct {
	byPublic map[string]asset  // /static/css/app.3f2a1b9c.css → file
	public   map[string]string // css/app.css → /static/css/app.3f2a1b9c.css
}

type asset struct {
	body  []byte
	ctype string
}

func loadAssets(fsys fs.FS) (*assets, error) {
	a := &assets{byPublic: map[string]asset{}, public: map[string]string{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ext := path.Ext(p)
		pub := "/static/" + strings.TrimSuffix(p, ext) + "." + hex.EncodeToString(sum[:])[:10] + ext
		a.byPublic[pub] = asset{body: b, ctype: mime.TypeByExtension(ext)}
		a.public[p] = pub
		return nil
	})
	return a, err
}

// Path returns the public, cache-busted path of a static file.
func (a *assets) Path(name string) string { return a.public[name] }

func (a *assets) serve(c echo.Context) error {
	f, ok := a.byPublic[c.Request().URL.Path]
	if !ok {
		return echo.ErrNotFound
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	return c.Blob(http.StatusOK, f.ctype, f.body)
}
