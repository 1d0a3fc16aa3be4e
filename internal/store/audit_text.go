package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uwsportal/uwsportal/models"
)

// auditText is the expression of audit_events_text_idx (trigram GIN,
// migration 00004): what free text is searched in.
const auditText = `(actor || ' ' || actor_name || ' ' || target || ' ' || detail::text)`

// textConds matches text as a case-insensitive substring of auditText.
// The trigram index is asked for one word of it only, the one likeliest
// to be rare, and the whole text is checked on the rows it finds: GIN
// intersects the posting lists of all the text's trigrams, and those of
// words that most events hold (a phrase like "seeded event 4242" has a
// dozen) cost it hundreds of milliseconds over a million events, while one
// word with a rare trigram costs a few. Every row holding the text holds
// the word, so the rows matched are those the whole text matches through
// the index (ILIKE is LIKE on lower() of both sides, as strpos here).
func textConds(text string, add func(cond string, arg any)) {
	word := indexWord(text)
	add(auditText+" ILIKE $?", "%"+likeEscape(word)+"%")
	if word != text {
		add("strpos(lower("+auditText+"), lower($?)) > 0", text)
	}
}

// indexWord is the part of text (split at white space) that the trigram
// index is asked for: a word with a digit before one without (numbers,
// addresses and ids are rarer than words), then the longest, with the
// white space around it in text (so the index knows where the word starts
// or ends: " 4242" leaves out 14242); text itself when no word has the
// three characters a trigram needs.
func indexWord(text string) string {
	best, bestScore := text, 0
	consider := func(from, to int) {
		w := text[from:to]
		score := utf8.RuneCountInString(w)
		if score < 3 {
			return
		}
		if strings.ContainsAny(w, "0123456789") {
			score += 1 << 20
		}
		if score > bestScore {
			_, before := utf8.DecodeLastRuneInString(text[:from])
			_, after := utf8.DecodeRuneInString(text[to:])
			best, bestScore = text[from-before:to+after], score
		}
	}
	from := -1
	for i, r := range text {
		switch {
		case unicode.IsSpace(r) && from >= 0:
			consider(from, i)
			from = -1
		case !unicode.IsSpace(r) && from < 0:
			from = i
		}
	}
	if from >= 0 {
		consider(from, len(text))
	}
	return best
}

// textWalk is how many events from the cursor a free-text search reads
// first, in id order; textWalkMax how many it reads in all before it asks
// the trigram index for the rest.
const (
	textWalk    = 1000
	textWalkMax = 20_000
)

// textHedge is how long the planner's own plan of a free-text search runs
// alone before bounded steps start beside it.
const textHedge = 20 * time.Millisecond

// searchText finds a page of a free-text search: the planner's plan and,
// if that has not answered within textHedge, bounded steps beside it; the
// first to find the page answers and the other is cancelled. Neither is
// good for every word. Postgres estimates how many events hold a word from
// a histogram of 100 sampled texts: a rare word that one of them holds is
// taken for 1 event in 100, and ORDER BY id … LIMIT then walks the whole
// trail by id for it (4.4 s over a million events); a common word taken
// for a rare one reads all its events through the index. The steps
// (textSteps) are bounded, but read every match of a word too common for
// the index and too rare for their walk, where the planner's walk by id
// finds the page at once. Which one goes wrong changes with the sample
// ANALYZE last drew, so both run; a search the planner answers in time,
// most of them, costs nothing more.
func (db *DB) searchText(ctx context.Context, f models.AuditFilter, actors, departments []string, sql string, args []any, limit int) ([]models.AuditEvent, error) {
	n, hedge := textWalk, textHedge
	if db.textWalk > 0 {
		n, hedge = db.textWalk, db.textHedge
	}
	plan := func(ctx context.Context, started func()) ([]models.AuditEvent, error) {
		return db.searchRowsOn(ctx, started, sql, args, limit)
	}
	steps := func(ctx context.Context) ([]models.AuditEvent, error) {
		return db.textSteps(ctx, f, actors, departments, sql, args, limit, n)
	}
	return db.hedged(ctx, hedge, plan, steps)
}

// textSteps finds the page in bounded steps: the n events nearest the
// cursor, in id order, which finds a common word's page; then, if the
// events found there say the page's rest lies within textWalkMax events,
// those too; else the older (or, paging forward, newer) events through
// the trigram index, sorted once read, which finds a rare word's.
func (db *DB) textSteps(ctx context.Context, f models.AuditFilter, actors, departments []string, sql string, args []any, limit, n int) ([]models.AuditEvent, error) {
	var out []models.AuditEvent
	cur, walked, maxWalk := f, 0, textWalkMax*n/textWalk
	for {
		walk, walkArgs := textWalkSQL(cur, sql, args, n)
		found, err := db.searchRows(ctx, walk, walkArgs, limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, found...)
		if len(out) >= limit {
			break
		}
		var read, edge int64
		edgeSQL, edgeArgs := nearest(cur, "id", n, nil)
		agg := "min"
		if f.After > 0 {
			agg = "max"
		}
		edgeSQL = "SELECT count(*), COALESCE(" + agg + "(id), 0) FROM (" + edgeSQL + ") w"
		if err := db.Pool.QueryRow(ctx, edgeSQL, edgeArgs...).Scan(&read, &edge); err != nil {
			return nil, fmt.Errorf("search audit: %w", err)
		}
		if read < int64(n) { // the walk reached the trail's end
			break
		}
		if f.After > 0 {
			cur.After = edge
		} else {
			cur.Before = edge
		}
		cur.Limit = limit - len(out)
		sql, args, _ = searchSQL(cur, actors, departments, false)
		walked += n
		// Twice the events the rest should take at the density seen so far.
		if len(out) > 0 && walked+2*cur.Limit*walked/len(out) <= maxWalk {
			n = 2 * cur.Limit * walked / len(out)
			continue
		}
		more, err := db.searchRows(ctx, indexOrder(sql), args, cur.Limit)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
		break
	}
	return out, nil
}

// textWalkSQL is sql reading only the n events nearest f's cursor,
// in id order: the subquery's LIMIT keeps the planner from reading more.
func textWalkSQL(f models.AuditFilter, sql string, args []any, n int) (string, []any) {
	inner, args := nearest(f, "*", n, args)
	return strings.Replace(sql, " FROM audit_events", " FROM ("+inner+") audit_events", 1), args
}

// nearest selects cols of the n events nearest f's cursor, in id order
// (newest first unless paging forward), its cursor appended to args.
func nearest(f models.AuditFilter, cols string, n int, args []any) (string, []any) {
	sql := "SELECT " + cols + " FROM audit_events"
	order := " ORDER BY id DESC"
	switch {
	case f.After > 0:
		args = append(args, f.After)
		sql += " WHERE id > $" + strconv.Itoa(len(args))
		order = " ORDER BY id ASC"
	case f.Before > 0:
		args = append(args, f.Before)
		sql += " WHERE id < $" + strconv.Itoa(len(args))
	}
	return sql + order + " LIMIT " + strconv.Itoa(n), args
}

// indexOrder orders sql's rows by an expression of the id rather than the
// id itself, so the primary key's order cannot be used: the rows are found
// through the other conditions' indexes (the trigram index), then sorted.
func indexOrder(sql string) string {
	return strings.Replace(sql, " ORDER BY id ", " ORDER BY id + 0 ", 1)
}
