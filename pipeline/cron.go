package pipeline

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule says when a scheduled job definition runs next.
type Schedule interface {
	// Next returns the first time strictly after t.
	Next(t time.Time) time.Time
}

// ParseSchedule reads a cron expression:
//
//   - five fields, minute hour day-of-month month day-of-week, as in
//     crontab(5): "*", "*/15", "1-5", "1,3,5", "10-50/10", month names
//     (jan...) and day names (sun...; 0 and 7 are Sunday). When both days
//     are restricted, either matches;
//   - six fields: a leading seconds field, then the five;
//   - @yearly (@annually), @monthly, @weekly, @daily (@midnight), @hourly;
//   - @every DURATION (Go syntax: 30s, 5m, 1h30m), counted from the
//     previous run time.
func ParseSchedule(expr string) (Schedule, error) {
	e := strings.TrimSpace(expr)
	if d, ok := strings.CutPrefix(e, "@every "); ok {
		iv, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil || iv < time.Second {
			return nil, fmt.Errorf("schedule %q: @every wants a duration of at least 1s", expr)
		}
		return every(iv), nil
	}
	macros := map[string]string{"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
		"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
	if m, ok := macros[e]; ok {
		e = m
	} else if strings.HasPrefix(e, "@") {
		return nil, fmt.Errorf("schedule %q: unknown descriptor", expr)
	}
	f := strings.Fields(e)
	switch len(f) {
	case 5:
		f = append([]string{"0"}, f...)
	case 6:
	default:
		return nil, fmt.Errorf("schedule %q: want 5 fields (minute hour day month weekday) or 6 (seconds first)", expr)
	}
	var c cron
	specs := []struct {
		name     string
		dst      *uint64
		min, max int
		names    []string
	}{
		{"second", &c.sec, 0, 59, nil},
		{"minute", &c.min, 0, 59, nil},
		{"hour", &c.hour, 0, 23, nil},
		{"day of month", &c.dom, 1, 31, nil},
		{"month", &c.month, 1, 12, []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
		{"day of week", &c.dow, 0, 7, []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
	}
	for i, s := range specs {
		bits, err := parseField(f[i], s.min, s.max, s.names)
		if err != nil {
			return nil, fmt.Errorf("schedule %q: %s: %w", expr, s.name, err)
		}
		*s.dst = bits
	}
	if c.dow&(1<<7) != 0 {
		c.dow |= 1 // 7 is Sunday too
	}
	c.domStar = f[3] == "*" || strings.HasPrefix(f[3], "*/")
	c.dowStar = f[5] == "*" || strings.HasPrefix(f[5], "*/")
	return c, nil
}

// parseField reads one cron field into a bit set of the allowed values.
func parseField(f string, lo, hi int, names []string) (uint64, error) {
	var bits uint64
	value := func(s string) (int, error) {
		for i, n := range names {
			if strings.EqualFold(s, n) {
				return i + lo, nil
			}
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%q is not a value in %d-%d", s, lo, hi)
		}
		return n, nil
	}
	for _, part := range strings.Split(f, ",") {
		rng, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return 0, fmt.Errorf("step %q is not a positive number", stepText)
			}
			step = n
		}
		a, b := lo, hi
		switch {
		case rng == "*":
		case strings.Contains(rng, "-"):
			x, y, _ := strings.Cut(rng, "-")
			var err error
			if a, err = value(x); err != nil {
				return 0, err
			}
			if b, err = value(y); err != nil {
				return 0, err
			}
			if a > b {
				return 0, fmt.Errorf("range %q runs backwards", rng)
			}
		default:
			v, err := value(rng)
			if err != nil {
				return 0, err
			}
			a, b = v, v
			if hasStep {
				b = hi
			}
		}
		for v := a; v <= b; v += step {
			bits |= 1 << uint(v)
		}
	}
	return bits, nil
}

type every time.Duration

func (e every) Next(t time.Time) time.Time {
	return t.Add(time.Duration(e)).Truncate(time.Second)
}

// cron is a parsed field set; each field is a bit set of allowed values.
type cron struct {
	sec, min, hour, dom, month, dow uint64
	domStar, dowStar                bool
}

func (c cron) dayMatches(t time.Time) bool {
	d := c.dom&(1<<uint(t.Day())) != 0
	w := c.dow&(1<<uint(t.Weekday())) != 0
	if c.domStar || c.dowStar {
		return d && w
	}
	return d || w
}

func (c cron) Next(t time.Time) time.Time {
	t = t.Truncate(time.Second).Add(time.Second)
	limit := t.AddDate(5, 0, 0)
	loc := t.Location()
	for t.Before(limit) {
		switch {
		case c.month&(1<<uint(t.Month())) == 0:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
		case !c.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
		case c.hour&(1<<uint(t.Hour())) == 0:
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, loc)
		case c.min&(1<<uint(t.Minute())) == 0:
			t = t.Truncate(time.Minute).Add(time.Minute)
		case c.sec&(1<<uint(t.Second())) == 0:
			t = t.Add(time.Second)
		default:
			return t
		}
	}
	return time.Time{} // never (e.g. February 30)
}
