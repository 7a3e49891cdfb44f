// A BPF program exercising many instruction forms, for the LLVM-syntax
// round-trip test (compiled by the test with clang-22 -mcpu=v4).
typedef unsigned long long u64;
typedef long long s64;
typedef unsigned int u32;
typedef int s32;
typedef short s16;
typedef signed char s8;

static long (*ktime_get_ns)(void) = (void *)5;

__attribute__((noinline)) static u64 mix(u64 a, u64 b)
{
	return (a * 31) ^ (b >> 3) ^ (a << 7);
}

__attribute__((section("socket"), used)) int prog(void *ctx)
{
	volatile u64 counter = 0;
	volatile u32 small = 7;
	u64 *p = (u64 *)ctx;
	s8 sb = *(s8 *)((char *)ctx + 1);
	s16 sh = *(s16 *)((char *)ctx + 2);
	s32 sw = *(s32 *)((char *)ctx + 4);
	u64 acc = (u64)(s64)sb + (u64)(s64)sh + (u64)(s64)sw;
	u32 w = (u32)acc;
	for (int i = 0; i < 16; i++) {
		acc += mix(acc, i);
		w = w * 3 + (u32)i;
		if ((s64)acc < -5)
			acc -= 17;
		if (w > 1000)
			w /= 7;
		acc %= 0xfffffffbULL;
	}
	acc += (u64)((s64)acc / -3);
	acc += (u64)((s64)acc % 5);
	__sync_fetch_and_add(&counter, 3);
	__sync_fetch_and_or(&counter, 8);
	u64 old = __sync_fetch_and_xor(&counter, acc);
	__sync_fetch_and_and(&small, 0xf0);
	u64 prev = __sync_val_compare_and_swap(&counter, old, 9);
	u64 x = __atomic_exchange_n(&counter, 5, __ATOMIC_SEQ_CST);
	acc += __builtin_bswap64(acc) + __builtin_bswap32(w) + __builtin_bswap16((unsigned short)w);
	acc += prev + x + ktime_get_ns();
	*p = acc;
	return (int)(acc ^ w) & 0xff;
}

char _license[] __attribute__((section("license"), used)) = "GPL";
