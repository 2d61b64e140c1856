package model

import (
	"errors"
	"testing"
)

func TestEncodeItem(t *testing.T) {
	cases := []struct{ col, val, want string }{
		{"CHIEF_YES_NO", "Yes", "0C_CHIEF_YES_NO_Yes"},
		{"USR_DEPARTMENT_NAME", "Facilities Area A", "13_USR_DEPARTMENT_NAME_Facilities Area A"},
		{"usr_manager_id", "gregory.suhr", "0E_USR_MANAGER_ID_gregory.suhr"},
		{"ENT_ID", "x_y", "06_ENT_ID_x_y"},
		{"CITY", "Pierre ", "04_CITY_Pierre "},
	}
	for _, c := range cases {
		got, err := EncodeItem(c.col, c.val)
		if err != nil || got != c.want {
			t.Errorf("EncodeItem(%q, %q) = %q, %v; want %q", c.col, c.val, got, err, c.want)
		}
		it, err := ParseItem(got)
		if err != nil {
			t.Fatalf("ParseItem(%q): %v", got, err)
		}
		if want := (Item{Name: upper(c.col), Value: c.val}); it != want {
			t.Errorf("ParseItem(%q) = %+v, want %+v", got, it, want)
		}
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func TestParseItemRejects(t *testing.T) {
	for _, s := range []string{"", "0C", "0C_CHIEF", "0C_CHIEF_YES_NO", "0C_CHIEF_YES_NO_", "zz_A_b", "00__x", "0c_CHIEF_YES_NO_Yes", "03_ABCDx"} {
		if _, err := ParseItem(s); !errors.Is(err, ErrBadItem) {
			t.Errorf("ParseItem(%q) error = %v, want ErrBadItem", s, err)
		}
	}
	if _, err := EncodeItem("A", ""); !errors.Is(err, ErrBadItem) {
		t.Errorf("EncodeItem with empty value: %v", err)
	}
}

func TestJoinPercentEncoded(t *testing.T) {
	got, err := JoinPercentEncoded([]string{"0C_CHIEF_YES_NO_Yes", "13_USR_DEPARTMENT_NAME_Information Systems 1"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "0C_CHIEF_YES_NO_Yes 13_USR_DEPARTMENT_NAME_Information%20Systems%201"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestCompareItemLists(t *testing.T) {
	if CompareItemLists([]string{"a"}, []string{"a", "b"}) >= 0 {
		t.Error("prefix must sort first")
	}
	if CompareItemLists([]string{"b"}, []string{"a", "b"}) <= 0 {
		t.Error("element order must decide")
	}
}

// FuzzItemRoundTrip checks that every encodable (name, value) pair parses
// back to itself and that ParseItem never panics.
func FuzzItemRoundTrip(f *testing.F) {
	f.Add("CHIEF_YES_NO", "Yes")
	f.Add("USR_MANAGER_ID", "a_b_c")
	f.Add("É_NAME", "ü ")
	f.Fuzz(func(t *testing.T, name, value string) {
		_, _ = ParseItem(name + value)
		enc, err := EncodeItem(name, value)
		if err != nil {
			return
		}
		it, err := ParseItem(enc)
		if err != nil {
			t.Fatalf("ParseItem(%q): %v", enc, err)
		}
		re, err := EncodeItem(it.Name, it.Value)
		if err != nil || re != enc {
			t.Fatalf("round trip %q -> %+v -> %q (%v)", enc, it, re, err)
		}
		if it.Value != value {
			t.Fatalf("value %q came back as %q", value, it.Value)
		}
	})
}
