package node

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/parley-exchange/parley/private"
)

// indicatorLines returns the canonical "type:value" lines an indicator
// contributes to a private set: the values of its equality comparisons
// ("=" and "IN") on the observable properties private sets carry, when
// the pattern is a plain disjunction of such comparisons. A revoked
// indicator, a non-STIX pattern, or a pattern with AND, NOT, FOLLOWEDBY
// or qualifiers contributes nothing: there a single value is not the
// indicator, and publishing it would claim more than the provider said.
func indicatorLines(raw []byte) []string {
	var ind struct {
		Type        string `json:"type"`
		Pattern     string `json:"pattern"`
		PatternType string `json:"pattern_type"`
		Revoked     bool   `json:"revoked"`
	}
	if json.Unmarshal(raw, &ind) != nil || ind.Type != "indicator" || ind.Revoked {
		return nil
	}
	if ind.PatternType != "" && ind.PatternType != "stix" {
		return nil
	}
	return patternLines(ind.Pattern)
}

// patternLines implements [indicatorLines] on the pattern text.
func patternLines(pattern string) []string {
	toks, ok := lexPattern(pattern)
	if !ok {
		return nil
	}
	var lines []string
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind == tokWord {
			switch t.text {
			case "AND", "NOT", "FOLLOWEDBY", "WITHIN", "REPEATS", "START", "STOP", "LIKE", "MATCHES",
				"ISSUBSET", "ISSUPERSET":
				return nil
			}
		}
		if t.kind != tokPath {
			continue
		}
		typ, ok := pathType(t.text)
		if !ok {
			continue
		}
		var values []string
		switch {
		case i+2 < len(toks) && toks[i+1].kind == tokOp && toks[i+1].text == "=" && toks[i+2].kind == tokString:
			values = []string{toks[i+2].text}
			i += 2
		case i+2 < len(toks) && toks[i+1].kind == tokWord && toks[i+1].text == "IN" && toks[i+2].kind == tokOpen:
			j := i + 3
			for ; j < len(toks) && toks[j].kind != tokClose; j++ {
				if toks[j].kind == tokString {
					values = append(values, toks[j].text)
				}
			}
			i = j
		default:
			continue
		}
		for _, v := range values {
			if typ == private.TypeFile {
				v = fileAlgorithm(t.text) + "=" + v
			}
			if nv, err := private.Normalize(typ, v); err == nil {
				lines = append(lines, typ+":"+nv)
			}
		}
	}
	slices.Sort(lines)
	return slices.Compact(lines)
}

// pathType maps an object path to the private-set type whose value it is.
func pathType(path string) (string, bool) {
	typ, prop, ok := strings.Cut(path, ":")
	if !ok {
		return "", false
	}
	switch typ {
	case private.TypeDomainName, private.TypeIPv4, private.TypeIPv6, private.TypeURL, private.TypeEmail, private.TypeMAC:
		return typ, prop == "value"
	case private.TypeFile:
		return typ, fileAlgorithm(path) != ""
	}
	return "", false
}

// fileAlgorithm returns the STIX hash algorithm of a file:hashes.ALG path.
func fileAlgorithm(path string) string {
	rest, ok := strings.CutPrefix(path, "file:hashes.")
	if !ok {
		return ""
	}
	alg, ok := private.HashAlgorithm(strings.Trim(rest, `'"`))
	if !ok {
		return ""
	}
	return alg
}

type tokKind int

const (
	tokWord tokKind = iota
	tokPath
	tokString
	tokOp
	tokOpen
	tokClose
	tokOther
)

type token struct {
	kind tokKind
	text string
}

// lexPattern splits a STIX pattern into the few tokens patternLines needs;
// ok is false for an unterminated string.
func lexPattern(p string) ([]token, bool) {
	var toks []token
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(p) {
				if p[i] == '\\' && i+1 < len(p) {
					b.WriteByte(p[i+1])
					i += 2
					continue
				}
				if p[i] == '\'' {
					closed = true
					i++
					break
				}
				b.WriteByte(p[i])
				i++
			}
			if !closed {
				return nil, false
			}
			toks = append(toks, token{tokString, b.String()})
		case c == '(':
			toks = append(toks, token{tokOpen, "("})
			i++
		case c == ')':
			toks = append(toks, token{tokClose, ")"})
			i++
		case c == '=' || c == '!' || c == '<' || c == '>':
			j := i + 1
			if j < len(p) && p[j] == '=' {
				j++
			}
			toks = append(toks, token{tokOp, p[i:j]})
			i = j
		case isWordByte(c):
			j := i
			for j < len(p) {
				if isWordByte(p[j]) || p[j] == ':' || p[j] == '.' {
					j++
					continue
				}
				// A quoted path component: hashes.'SHA-256'.
				if p[j] == '\'' && j > i && p[j-1] == '.' {
					k := strings.IndexByte(p[j+1:], '\'')
					if k < 0 {
						return nil, false
					}
					j += k + 2
					continue
				}
				break
			}
			w := p[i:j]
			kind := tokWord
			if strings.Contains(w, ":") {
				kind = tokPath
			}
			toks = append(toks, token{kind, w})
			i = j
		default:
			toks = append(toks, token{tokOther, string(c)})
			i++
		}
	}
	return toks, true
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}
