package sweep

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cleval/cleval/harness"
)

var update = flag.Bool("update", false, "write examples/presets/NAME.yaml for every preset")

const presetDir = "../../examples/presets"

// presetFile renders a preset as an experiment file that spells out every
// field of its configuration (no preset: base), so that it can be read and
// edited without cleval's source.
func presetFile(p harness.Preset) ([]byte, error) {
	cfg := p.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tree, err := fromJSON(cfg.JSON())
	if err != nil {
		return nil, err
	}
	base := newMap(nil)
	for _, k := range tree.keys {
		if k != "preset" && k != "seed" {
			base.set(k, tree.fields[k])
		}
	}
	seeds := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	for _, s := range p.Seeds {
		seeds.Content = append(seeds.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: fmt.Sprint(s)})
	}
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	doc := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
		str("name"), str(p.Name),
		str("description"), str(p.Summary),
		str("base"), toYAML(base),
	}}
	if len(p.Seeds) > 0 {
		doc.Content = append(doc.Content, str("seeds"), seeds)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# The preset %s as an experiment file: every field of its configuration.\n", p.Name)
	fmt.Fprintf(&b, "# It resolves to exactly the preset (checked by go test ./harness/sweep; regenerate\n")
	fmt.Fprintf(&b, "# with go test ./harness/sweep -run TestPresetFiles -update).\n")
	fmt.Fprintf(&b, "#   cleval sweep examples/presets/%s.yaml --db results.db\n", p.Name)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	enc.Close()
	return b.Bytes(), nil
}

// TestPresetFiles checks that examples/presets holds one experiment file
// per preset and that each resolves to exactly the preset's configuration
// and seeds.
func TestPresetFiles(t *testing.T) {
	presets := harness.Presets()
	if *update {
		if err := os.MkdirAll(presetDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range presets {
			b, err := presetFile(p)
			if err != nil {
				t.Fatalf("preset %s: %v", p.Name, err)
			}
			if err := os.WriteFile(filepath.Join(presetDir, p.Name+".yaml"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var missing []string
	for _, p := range presets {
		path := filepath.Join(presetDir, p.Name+".yaml")
		if _, err := os.Stat(path); err != nil {
			missing = append(missing, "examples/presets/"+p.Name+".yaml")
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			exp, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := exp.Expand()
			if err != nil {
				t.Fatal(err)
			}
			seeds := p.Seeds
			if len(seeds) == 0 {
				seeds = []uint64{0}
			}
			if len(plan.Runs) != len(seeds) {
				t.Fatalf("%d runs, want one per preset seed %v", len(plan.Runs), seeds)
			}
			for i, r := range plan.Runs {
				want := p.Config
				want.Seed = seeds[i]
				if _, err := want.Resolve(); err != nil {
					t.Fatal(err)
				}
				got := r.Config
				got.Preset, want.Preset = "", ""
				if !bytes.Equal(got.JSON(), want.JSON()) {
					t.Errorf("seed %d resolves to\n%s\nthe preset is\n%s\n(regenerate: go test ./harness/sweep -run TestPresetFiles -update)", seeds[i], got.JSON(), want.JSON())
				}
				if r.Key != want.Key() {
					t.Errorf("seed %d: key %s, the preset's is %s", seeds[i], r.Key, want.Key())
				}
			}
		})
	}
	if len(missing) > 0 {
		t.Errorf("no experiment file for %d presets: %s\n(every preset ships as a YAML file: create them with go test ./harness/sweep -run TestPresetFiles -update)",
			len(missing), strings.Join(missing, ", "))
	}
	entries, _ := os.ReadDir(presetDir)
	names := harness.PresetNames()
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".yaml")
		if ok && !slices.Contains(names, name) {
			t.Errorf("examples/presets/%s is not a preset (known: %s): remove it or add the preset", e.Name(), strings.Join(names, ", "))
		}
	}
}

// TestExamplesExpand keeps the example experiment files valid as the
// configuration, the presets and the strategies change.
func TestExamplesExpand(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, f := range files {
		exp, err := Load(f)
		if err != nil {
			t.Error(err)
			continue
		}
		plan, err := exp.Expand()
		if err != nil {
			t.Error(err)
			continue
		}
		t.Logf("%s: %d runs", filepath.Base(f), len(plan.Runs))
	}
}
