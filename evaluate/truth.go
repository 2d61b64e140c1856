package evaluate

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// ReadTruth reads the ground truth that `autoid gen` writes under
// DIR/truth: planted_rules.csv, noise_assignments.csv, birthright.csv.
func ReadTruth(dir string) (*Truth, error) {
	t := &Truth{Birthright: map[string]bool{}}
	err := readCSV(filepath.Join(dir, "planted_rules.csv"), []string{"rule_id", "items", "entitlements", "members", "fire_prob"},
		func(rec []string) error {
			r := PlantedRule{ID: rec[0]}
			if err := json.Unmarshal([]byte(rec[1]), &r.Items); err != nil {
				return fmt.Errorf("items: %w", err)
			}
			if err := json.Unmarshal([]byte(rec[2]), &r.Ents); err != nil {
				return fmt.Errorf("entitlements: %w", err)
			}
			var err error
			if r.Members, err = strconv.ParseInt(rec[3], 10, 64); err != nil {
				return fmt.Errorf("members: %w", err)
			}
			if r.FireProb, err = strconv.ParseFloat(rec[4], 64); err != nil {
				return fmt.Errorf("fire_prob: %w", err)
			}
			slices.Sort(r.Items)
			slices.Sort(r.Ents)
			t.Rules = append(t.Rules, r)
			return nil
		})
	if err != nil {
		return nil, err
	}
	err = readCSV(filepath.Join(dir, "noise_assignments.csv"), []string{"usr_id", "ent_id"}, func(rec []string) error {
		t.Noise = append(t.Noise, Pair{Usr: rec[0], Ent: rec[1]})
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = readCSV(filepath.Join(dir, "birthright.csv"), []string{"ent_id", "scope"}, func(rec []string) error {
		t.Birthright[rec[0]] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// readCSV reads a truth file whose header starts with cols and calls fn
// with the first len(cols) fields of every record.
func readCSV(path string, cols []string, fn func(rec []string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("truth: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return fmt.Errorf("truth %s: header: %w", path, err)
	}
	if len(head) < len(cols) || !slices.Equal(head[:len(cols)], cols) {
		return fmt.Errorf("truth %s: header %v, want %v", path, head, cols)
	}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("truth %s: %w", path, err)
		}
		if err := fn(rec[:len(cols)]); err != nil {
			return fmt.Errorf("truth %s line %d: %w", path, line, err)
		}
	}
}
