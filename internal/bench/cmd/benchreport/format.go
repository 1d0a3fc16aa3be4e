package main

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// plain is format without the unit's qualifier, for tables whose label
// already says what the figure is.
func plain(v float64, unit string) string {
	switch {
	case strings.HasSuffix(unit, "-ms"):
		return ms(v)
	case strings.HasSuffix(unit, "-MB"):
		return trim(v, 1) + " MB"
	}
	return format(v, unit)
}

// ms prints milliseconds, switching to seconds from 1000 ms and keeping
// three decimals for sub-0.1 ms figures.
func ms(v float64) string {
	switch {
	case v >= 1000:
		return trim(v/1000, 2) + " s"
	case v < 0.1:
		return trim(v, 3) + " ms"
	}
	return trim(v, 2) + " ms"
}

// format prints a value in its unit, readably.
func format(v float64, unit string) string {
	switch {
	case unit == "ns/op":
		return dur(time.Duration(v)) + "/op"
	case unit == "B/op":
		return bytesStr(v) + "/op"
	case unit == "allocs/op":
		return thousands(v) + " allocs/op"
	case strings.HasSuffix(unit, "-ms"):
		return ms(v) + qualifier(strings.TrimSuffix(unit, "-ms"))
	case strings.HasSuffix(unit, "-MB"), unit == "MB":
		return trim(v, 1) + " MB" + qualifier(strings.TrimSuffix(strings.TrimSuffix(unit, "MB"), "-"))
	case unit == "s/verify":
		return trim(v, 2) + " s"
	case strings.HasSuffix(unit, "/s"):
		return thousands(v) + " " + unit
	}
	return trim(v, 3) + " " + unit
}

// qualifier turns the prefix of a custom unit (p95, http-p95, peak-rss)
// into a short note, except where the row's label says it already.
func qualifier(prefix string) string {
	switch prefix {
	case "", "p95", "p50", "peak-rss":
		return ""
	}
	return " (" + prefix + ")"
}

func dur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return trim(d.Seconds(), 2) + " s"
	case d >= time.Millisecond:
		return trim(float64(d)/1e6, 2) + " ms"
	case d >= time.Microsecond:
		return trim(float64(d)/1e3, 1) + " µs"
	}
	return strconv.FormatInt(int64(d), 10) + " ns"
}

func bytesStr(v float64) string {
	switch {
	case v >= 1<<30:
		return trim(v/(1<<30), 2) + " GiB"
	case v >= 1<<20:
		return trim(v/(1<<20), 1) + " MiB"
	case v >= 1<<10:
		return trim(v/(1<<10), 1) + " KiB"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + " B"
}

func trim(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// thousands rounds to an integer with comma separators.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func ifTarget(met func(float64, float64) bool, s string) string {
	if met == nil {
		return "–"
	}
	return s
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// pgShort keeps "PostgreSQL 17.2 (Debian …)" to its name and version.
func pgShort(v string) string {
	f := strings.Fields(v)
	if len(f) >= 2 {
		return f[0] + " " + f[1]
	}
	return v
}

func shortPkg(ip string) string {
	if i := strings.LastIndex(ip, "/uwsportal/"); i >= 0 {
		if rest := ip[i+len("/uwsportal/"):]; rest != "" {
			return rest
		}
	}
	return ip
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
