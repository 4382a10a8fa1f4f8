package match

import (
	"encoding/json"
	"strconv"

	"github.com/parley-exchange/parley/pattern"
)

// toPattern converts an event's STIX form into the evaluator's input.
func toPattern(od map[string]any, scos []map[string]any, o *observation) {
	po := pattern.Observation{First: o.time, Last: o.time, Count: 1, Objects: make(map[string]map[string]any, len(scos))}
	po.ID, _ = od["id"].(string)
	if s, ok := od["first_observed"].(string); ok {
		if t, err := parseSTIXTime(s); err == nil {
			po.First = t
		}
	}
	if s, ok := od["last_observed"].(string); ok {
		if t, err := parseSTIXTime(s); err == nil {
			po.Last = t
		}
	}
	switch n := od["number_observed"].(type) {
	case int:
		po.Count = n
	case json.Number:
		if v, err := strconv.Atoi(string(n)); err == nil && v > 0 {
			po.Count = v
		}
	}
	if _, v21 := od["object_refs"]; !v21 && od["objects"] != nil {
		embedded, _ := od["objects"].(map[string]any)
		// STIX 2.0: references are the dictionary keys.
		for k, v := range embedded {
			if m, ok := v.(map[string]any); ok {
				po.Objects[k] = m
			}
		}
	} else {
		for _, m := range scos {
			if id, ok := m["id"].(string); ok {
				po.Objects[id] = m
			}
		}
	}
	o.po = po
}

// evaluate runs the pattern evaluator over observations.
func evaluate(p *pattern.Pattern, obs []observation) (bool, error) {
	return evaluateLimit(p, obs, 0)
}

// evaluateLimit is evaluate with the search bounded to maxSteps steps
// (the evaluator's own bound where it is 0).
func evaluateLimit(p *pattern.Pattern, obs []observation, maxSteps int) (bool, error) {
	pos := make([]pattern.Observation, len(obs))
	for i := range obs {
		pos[i] = obs[i].po
	}
	res, err := p.MatchLimit(pos, maxSteps)
	if err != nil {
		return false, err
	}
	return res.Matched, nil
}
