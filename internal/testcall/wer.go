package testcall

import "strings"

// WER is the word error rate of hyp against ref: (substitutions + deletions + insertions)
// divided by the number of reference words, by Levenshtein alignment over words after
// lower-casing. sclite computes the same figure; this one needs no files.
func WER(ref, hyp string) float64 {
	r := strings.Fields(strings.ToLower(ref))
	h := strings.Fields(strings.ToLower(hyp))
	if len(r) == 0 {
		if len(h) == 0 {
			return 0
		}
		return 1
	}
	prev := make([]int, len(h)+1)
	cur := make([]int, len(h)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(r); i++ {
		cur[0] = i
		for j := 1; j <= len(h); j++ {
			sub := prev[j-1]
			if r[i-1] != h[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return float64(prev[len(h)]) / float64(len(r))
}
