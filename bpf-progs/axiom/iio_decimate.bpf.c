// SPDX-License-Identifier: GPL-2.0
/* An IIO decimation filter: keeps one scan in FACTOR (the first it sees,
 * then every FACTOR-th), turning 100 Hz into 25 Hz. */
#include "axiom.h"

#define FACTOR 4

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

SEC("axiom/iio")
int decimate(struct axiom_iio_ctx *ctx)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&seen, &key);
	__u64 count;

	if (!n)
		return AXIOM_IIO_KEEP;
	count = (*n)++;
	return count % FACTOR == 0 ? AXIOM_IIO_KEEP : AXIOM_IIO_DROP;
}

char LICENSE[] SEC("license") = "GPL";
