package main

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// rangeTable returns the README's table of the numeric flags: one row per
// flag with its commands and its range.
func rangeTable(t *testing.T) string {
	var b strings.Builder
	b.WriteString("| flag | commands | allowed values |\n|---|---|---|\n")
	type row struct{ cmds []string }
	rows := map[string]*row{}
	var order []string
	for _, f := range numericFlags(t) {
		app := newApp()
		var text string
		for _, cc := range append(app.Commands, subcommands(app.Commands)...) {
			if cc.Name != f.cmd[len(f.cmd)-1] {
				continue
			}
			for _, fl := range cc.Flags {
				if g, ok := fl.(*cli.GenericFlag); ok && g.Name == f.name {
					switch v := g.Value.(type) {
					case *numValue:
						text = v.r.String()
					case *listValue:
						text = "a list of up to " + strconv.Itoa(v.maxLen) + " values, each " + v.r.String()
					}
				}
			}
		}
		key := "`--" + f.name + "` | " + text
		if rows[key] == nil {
			rows[key] = &row{}
			order = append(order, key)
		}
		rows[key].cmds = append(rows[key].cmds, strings.Join(f.cmd, " "))
	}
	for _, k := range order {
		flag, text, _ := strings.Cut(k, " | ")
		b.WriteString("| " + flag + " | " + strings.Join(rows[k].cmds, ", ") + " | " + text + " |\n")
	}
	return b.String()
}

// TestREADMEListsEveryRange: the README's table of numeric flags is the
// one the flags give (run with CLEVAL_PRINT_RANGES=1 to print it).
func TestREADMEListsEveryRange(t *testing.T) {
	t.Parallel()
	table := rangeTable(t)
	if os.Getenv("CLEVAL_PRINT_RANGES") != "" {
		t.Log("\n" + table)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), table) {
		t.Errorf("README.md does not hold the table of numeric flags; it should read:\n%s", table)
	}
}
