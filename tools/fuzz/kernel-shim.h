/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The least of the kernel that virt/kvm/msix_decode.h needs to build in
 * userspace.  Include this, then "msix_decode.h" (the real one, found with
 * -I virt/kvm; never a copy).
 */
#ifndef KVM_MSIX_FUZZ_KERNEL_SHIM_H
#define KVM_MSIX_FUZZ_KERNEL_SHIM_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>		/* memcmp */
#include <linux/types.h>	/* __u8 .. __u64, __le32 */
#include <linux/kvm_msix.h>	/* the real uapi header, via -I uapi */

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

#define BIT(nr)		(1UL << (nr))

static inline u32 le32_to_cpu(__le32 x)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return __builtin_bswap32(x);
#else
	return x;
#endif
}

static inline __le32 cpu_to_le32(u32 x)
{
	return le32_to_cpu(x);
}

/*
 * array_index_nospec(index, size): the kernel returns @index when it is
 * below @size and 0 otherwise, without a branch the CPU could mispredict.
 * Architecturally it must be a no-op wherever msix_decode() uses it: the
 * decoder has checked the bounds already, and the clamp only matters under
 * speculation.  This version clamps the same way and tells the harness
 * (msix_fuzz.c) each time it had to, which the harness treats as a bug.
 */
void shim_nospec_clamped(u64 index, u64 size);

static inline u64 shim_index_nospec(u64 index, u64 size)
{
	if (index < size)
		return index;
	shim_nospec_clamped(index, size);
	return 0;
}

#define array_index_nospec(index, size) \
	((__typeof__(index))shim_index_nospec((u64)(index), (u64)(size)))

#endif /* KVM_MSIX_FUZZ_KERNEL_SHIM_H */
