package pdq_test

import (
	"fmt"

	"github.com/parley-exchange/parley/pdq"
)

// An index of known hashes, searched with the hash of a new image: a
// re-encoded copy differs in a few bits and still matches.
func ExampleIndex() {
	known := []string{
		"f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", // bridge, C++ reference
		"6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d", // wee
	}
	x := pdq.NewIndex()
	for _, s := range known {
		h, err := pdq.ParseHash(s)
		if err != nil {
			panic(err)
		}
		x.Add(h)
	}
	// The Java port's hash of the same bridge photograph, decoded by Java.
	q, _ := pdq.ParseHash("f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22")
	for _, m := range x.Search(q, pdq.DefaultRadius) {
		fmt.Printf("matches known hash %d at distance %d\n", m.ID, m.Distance)
	}
	// Output:
	// matches known hash 0 at distance 8
}

// Sharing a hash as the properties of a STIX indicator, and reading it back.
func ExampleIndicatorProperties() {
	h, _ := pdq.ParseHash("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22")
	props := pdq.IndicatorProperties(h, 100)
	fmt.Println(props["pattern_type"], props["pattern"], props[pdq.QualityProperty])
	fmt.Println(pdq.ValidatePattern(props["pattern"].(string)))
	back, q, err := pdq.ParseIndicator(props)
	fmt.Println(back == h, q, err)
	// Output:
	// pdq f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22 100
	// <nil>
	// true 100 <nil>
}
