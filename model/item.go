package model

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"
)

// ErrBadItem reports a string that is not an encoded item.
var ErrBadItem = errors.New("not an encoded item")

// Item is one attribute value of an identity: a column name (upper case) and
// a value, byte-exact.
type Item struct {
	Name  string // column name in upper case, e.g. USR_DEPARTMENT_NAME
	Value string // the value, never empty
}

// maxNameLen is the longest name the two-hex-digit prefix can describe.
const maxNameLen = 0xFF

// EncodeItem returns the encoded form HH_NAME_value of a column and value,
// where NAME is the column upper-cased and HH its length in characters as two
// upper-case hex digits. It fails for an empty value (a null yields no item)
// or a name longer than 255 characters.
func EncodeItem(column, value string) (string, error) {
	if value == "" {
		return "", fmt.Errorf("item %q: empty value: %w", column, ErrBadItem)
	}
	name := strings.ToUpper(column)
	n := utf8.RuneCountInString(name)
	if n == 0 || n > maxNameLen {
		return "", fmt.Errorf("item name %q: length %d outside 1..%d: %w", name, n, maxNameLen, ErrBadItem)
	}
	var b strings.Builder
	b.Grow(3 + len(name) + 1 + len(value))
	fmt.Fprintf(&b, "%02X_", n)
	b.WriteString(name)
	b.WriteByte('_')
	b.WriteString(value)
	return b.String(), nil
}

// String returns the encoded form of the item; it panics on an invalid item
// (use EncodeItem to handle the error).
func (it Item) String() string {
	s, err := EncodeItem(it.Name, it.Value)
	if err != nil {
		panic(err)
	}
	return s
}

// ParseItem splits an encoded item: read HH, skip '_', take HH characters as
// the name, skip '_', the rest is the value.
func ParseItem(s string) (Item, error) {
	if len(s) < 3 || s[2] != '_' {
		return Item{}, fmt.Errorf("%q: %w", s, ErrBadItem)
	}
	n, ok := hexByte(s[0], s[1])
	if !ok || n == 0 {
		return Item{}, fmt.Errorf("%q: bad length prefix: %w", s, ErrBadItem)
	}
	rest := s[3:]
	// Take n characters (runes) as the name.
	end := 0
	for i := 0; i < n; i++ {
		if end >= len(rest) {
			return Item{}, fmt.Errorf("%q: name shorter than %d characters: %w", s, n, ErrBadItem)
		}
		_, size := utf8.DecodeRuneInString(rest[end:])
		end += size
	}
	name := rest[:end]
	if end >= len(rest) || rest[end] != '_' {
		return Item{}, fmt.Errorf("%q: no separator after name: %w", s, ErrBadItem)
	}
	value := rest[end+1:]
	if value == "" {
		return Item{}, fmt.Errorf("%q: empty value: %w", s, ErrBadItem)
	}
	return Item{Name: name, Value: value}, nil
}

func hexByte(a, b byte) (int, bool) {
	hi, ok1 := hexDigit(a)
	lo, ok2 := hexDigit(b)
	return hi<<4 | lo, ok1 && ok2
}

func hexDigit(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}

// SortItems sorts encoded items ascending by their bytes, the canonical order
// of a justification or a role policy.
func SortItems(items []string) { sort.Strings(items) }

// CompareItemLists compares two sorted item lists element by element (byte
// order); a list that is a prefix of the other is smaller.
func CompareItemLists(a, b []string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := strings.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

// JoinPercentEncoded renders an item list as one string the way the roles
// export shows a justification: items joined by a space, each value
// percent-encoded (a space becomes %20).
func JoinPercentEncoded(items []string) (string, error) {
	var b bytes.Buffer
	for i, s := range items {
		it, err := ParseItem(s)
		if err != nil {
			return "", err
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		enc, _ := EncodeItem(it.Name, url.PathEscape(it.Value))
		b.WriteString(enc)
	}
	return b.String(), nil
}
