// Package pdq implements Meta's PDQ perceptual image hash and an exact
// Hamming-distance index over PDQ hashes.
//
// PDQ is specified in "The TMK+PDQF Video-Hashing Algorithm and the PDQ
// Image Similarity Algorithm" (facebook/ThreatExchange, hashing.pdf) and by
// its reference implementations. A hash is computed as follows:
//
//  1. Each pixel becomes a luminance value Y = 0.299 R + 0.587 G + 0.114 B.
//  2. The luminance image is blurred with two passes of a 1-D box filter
//     along each axis (Jarosz, "Fast Image Convolutions", 2001), which is a
//     tent filter, with the reference window size ceil(dimension/128), and
//     then sampled at 64x64 points.
//  3. Quality is the count of significant gradients between neighbouring
//     samples, scaled to 0..100.
//  4. The 16x16 lowest non-DC frequencies of the 64x64 type-II DCT are
//     computed, and each bit of the 256-bit hash says whether its
//     coefficient is above the median of the 256.
//
// The 8 dihedral variants (rotations and mirror images) of an image are
// computed from one pass, by the sign symmetries of the DCT: see
// [HashDihedral].
//
// Two images are considered the same by the field's convention when their
// hashes are within Hamming distance 31 ([DefaultRadius]), and hashes of
// quality below 50 ([MinQuality]) should not be used for matching.
//
// Decoding is bounded: [Decode] reads the image header first and refuses
// images whose dimensions exceed [Limits] before allocating any pixel
// memory, so that a small file cannot expand into gigabytes (a
// decompression bomb).
//
// [Index] answers exact radius queries ("every hash within distance r")
// with multi-index hashing (Norouzi, Punjani and Fleet, "Fast Search in
// Hamming Space with Multi-Index Hashing", CVPR 2012), returning exactly what
// the linear scan of [Flat] returns.
//
// Hashes are shared as STIX 2.1 indicators whose pattern_type is "pdq":
// see [ValidatePattern] and [IndicatorProperties].
package pdq
