/* Shared includes of the example programs: the kernel UAPI types and
 * libbpf's helper definitions. */
#ifndef AXIOM_EXAMPLES_COMMON_H
#define AXIOM_EXAMPLES_COMMON_H
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#endif
