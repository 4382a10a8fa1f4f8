package opinion_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"github.com/parley-exchange/parley/opinion"
)

// An auditor tallies opinions it holds (from a proof bundle, say) with the
// members' registered keys: every verified opinion counts once per member,
// a forged one doesn't count at all.
func Example() {
	key := func(name string) ed25519.PrivateKey {
		seed := sha256.Sum256([]byte(name))
		return ed25519.NewKeyFromSeed(seed[:])
	}
	alice, bob := key("alice"), key("bob")
	const (
		aliceID = "identity--0a7f8b5e-52f6-4e4f-8d2b-000000000001"
		bobID   = "identity--0a7f8b5e-52f6-4e4f-8d2b-000000000002"
		report  = "report--0a7f8b5e-52f6-4e4f-8d2b-0000000000aa"
	)
	keys := opinion.Keys{aliceID: alice.Public().(ed25519.PublicKey), bobID: bob.Public().(ed25519.PublicKey)}
	t := time.Date(2026, 9, 17, 9, 0, 0, 0, time.UTC)
	rnd := strings.NewReader(strings.Repeat("deterministic ids for the example ", 10))
	var raws [][]byte
	post := func(member string, k ed25519.PrivateKey, v opinion.Value, at time.Time) {
		raw, err := opinion.New(opinion.Draft{Member: member, Object: report, Value: v}, k, at, rnd)
		if err != nil {
			panic(err)
		}
		raws = append(raws, raw)
	}
	post(aliceID, alice, opinion.Agree, t)
	post(aliceID, alice, opinion.StronglyAgree, t.Add(time.Hour)) // her latest: one voice
	post(bobID, bob, opinion.Disagree, t)
	post(bobID, alice, opinion.StronglyAgree, t.Add(2*time.Hour)) // names bob, signed by alice: forged

	var verified []opinion.Opinion
	for _, raw := range raws {
		op, err := opinion.Verify(raw, keys)
		if err != nil {
			fmt.Println("not counted:", strings.SplitN(err.Error(), ":", 2)[0])
		}
		verified = append(verified, op)
	}
	tally := opinion.Compute(report, verified)
	for _, v := range opinion.Values {
		fmt.Printf("%s %d\n", v, tally.Counts[v])
	}
	// Output:
	// not counted: opinion signature is not its member's
	// strongly-disagree 0
	// disagree 1
	// neutral 0
	// agree 0
	// strongly-agree 1
}
