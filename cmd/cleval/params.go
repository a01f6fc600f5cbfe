package main

import "strings"

// joinParams undoes the comma splitting urfave/cli applies to the values
// of a slice flag, for --param: "--param decays=[0.9,0.99]" arrives as
// "decays=[0.9" and "0.99]". A piece that does not start with "key=" (a
// parameter name followed by '=') continues the previous one and is joined
// back to it with the comma, so JSON arrays and objects (the base_params of
// a wrapper) pass through --param intact.
func joinParams(pieces []string) []string {
	var out []string
	for _, p := range pieces {
		if len(out) > 0 && !startsWithKey(p) {
			out[len(out)-1] += "," + p
			continue
		}
		out = append(out, p)
	}
	return out
}

// startsWithKey reports whether s starts with a parameter name and '='.
func startsWithKey(s string) bool {
	k, _, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r == '-' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
