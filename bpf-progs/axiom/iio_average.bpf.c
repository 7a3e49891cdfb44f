// SPDX-License-Identifier: GPL-2.0
/* An IIO moving-average filter: replaces each channel's value with the
 * mean of its last WINDOW values (C division: truncated towards zero),
 * kept in a map; every scan is kept. */
#include "axiom.h"

#define WINDOW 8

struct history {
	__s32 values[AXIOM_IIO_CHANNELS][WINDOW];
	__u64 scans;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct history);
} history SEC(".maps");

SEC("axiom/iio")
int moving_average(struct axiom_iio_ctx *ctx)
{
	__u32 key = 0;
	struct history *h = bpf_map_lookup_elem(&history, &key);
	__u32 slot;
	int ch, i;

	if (!h)
		return AXIOM_IIO_KEEP;
	slot = h->scans % WINDOW;
	h->scans++;
#pragma unroll
	for (ch = 0; ch < AXIOM_IIO_CHANNELS; ch++) {
		__s64 sum = 0;

		h->values[ch][slot] = ctx->values[ch];
#pragma unroll
		for (i = 0; i < WINDOW; i++)
			sum += h->values[ch][i];
		ctx->values[ch] = (__s32)(sum / WINDOW);
	}
	return AXIOM_IIO_KEEP;
}

char LICENSE[] SEC("license") = "GPL";
