package ingest

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// kind is the type of a cell as the file gives it.
type kind uint8

const (
	kNull   kind = iota // missing: an empty CSV field, JSON null, an Arrow null
	kText               // untyped text (CSV): a number, a word, JSON
	kString             // a typed string (JSON, Arrow)
	kInt
	kFloat
	kBool
	kJSON // a JSON object or array (or an Arrow value without a scalar form)
)

// value is one cell.
type value struct {
	k   kind
	s   string
	i   int64
	f   float64
	b   bool
	raw []byte // kJSON
}

func (v value) describe() string {
	switch v.k {
	case kNull:
		return "empty"
	case kText, kString:
		return strconv.Quote(truncate(v.s, 40))
	case kInt:
		return strconv.FormatInt(v.i, 10)
	case kFloat:
		return strconv.FormatFloat(v.f, 'g', -1, 64)
	case kBool:
		return strconv.FormatBool(v.b)
	}
	return truncate(string(v.raw), 40)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// maxExactInt is the largest integer a float64 holds exactly (2^53).
const maxExactInt = 1 << 53

// integer returns the cell as an integer. Integral floats (3.0) and text
// that spells one are accepted; anything else is an error message.
func (v value) integer() (int64, string) {
	switch v.k {
	case kInt:
		return v.i, ""
	case kFloat:
		return floatInt(v.f, v)
	case kText, kString:
		s := strings.TrimSpace(v.s)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, ""
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Sprintf("%s is not a number", v.describe())
		}
		return floatInt(f, v)
	case kNull:
		return 0, "missing value"
	}
	return 0, fmt.Sprintf("%s is not a number", v.describe())
}

func floatInt(f float64, v value) (int64, string) {
	if f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Sprintf("%s is not a whole number", v.describe())
	}
	if math.Abs(f) > maxExactInt {
		return 0, fmt.Sprintf("%s is too large", v.describe())
	}
	return int64(f), ""
}

// float returns the cell as a number.
func (v value) float() (float64, string) {
	switch v.k {
	case kInt:
		return float64(v.i), ""
	case kFloat:
		return v.f, ""
	case kText, kString:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.s), 64)
		if err != nil && !isRangeErr(err) {
			return 0, fmt.Sprintf("%s is not a number", v.describe())
		}
		return f, ""
	case kNull:
		return 0, "missing value"
	}
	return 0, fmt.Sprintf("%s is not a number", v.describe())
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// text returns the cell as a name: strings as they are, integers in
// decimal (so that run 3 in a Parquet int64 column and "3" in a CSV file
// name the same run), integral floats as integers.
func (v value) text() (string, string) {
	switch v.k {
	case kText, kString:
		return v.s, ""
	case kInt:
		return strconv.FormatInt(v.i, 10), ""
	case kFloat:
		if n, msg := floatInt(v.f, v); msg == "" {
			return strconv.FormatInt(n, 10), ""
		}
		return strconv.FormatFloat(v.f, 'g', -1, 64), ""
	case kBool:
		return strconv.FormatBool(v.b), ""
	case kNull:
		return "", "missing value"
	}
	return "", fmt.Sprintf("%s is not a name (a string or an integer)", v.describe())
}

// json returns the cell as a JSON value for the run metadata. Untyped
// text that is a JSON number, boolean, object or array keeps that type;
// other text is a string. Missing cells are null; NaN and infinities are
// null too (JSON has no such numbers).
func (v value) json() json.RawMessage {
	switch v.k {
	case kNull:
		return json.RawMessage("null")
	case kText:
		s := strings.TrimSpace(v.s)
		if s != "" && (s == "true" || s == "false" || strings.HasPrefix(s, "{") || strings.HasPrefix(s, "[") || isJSONNumber(s)) && json.Valid([]byte(s)) {
			return json.RawMessage(s)
		}
		b, _ := json.Marshal(v.s)
		return b
	case kString:
		b, _ := json.Marshal(v.s)
		return b
	case kInt:
		return json.RawMessage(strconv.FormatInt(v.i, 10))
	case kFloat:
		if math.IsNaN(v.f) || math.IsInf(v.f, 0) {
			return json.RawMessage("null")
		}
		b, _ := json.Marshal(v.f)
		return b
	case kBool:
		return json.RawMessage(strconv.FormatBool(v.b))
	}
	return json.RawMessage(v.raw)
}

// isJSONNumber reports whether s is a number in JSON's grammar.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}

// ints returns the cell as a list of integers: a JSON array (text or
// value) or an Arrow list.
func (v value) ints() ([]int32, string) {
	var raw []byte
	switch v.k {
	case kJSON:
		raw = v.raw
	case kText, kString:
		raw = []byte(strings.TrimSpace(v.s))
	case kNull:
		return nil, "missing value"
	default:
		return nil, fmt.Sprintf("%s is not a list of integers (write [0, 1])", v.describe())
	}
	var out []int32
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Sprintf("%s is not a list of integers (write [0, 1])", v.describe())
	}
	if out == nil {
		out = []int32{}
	}
	return out, ""
}
