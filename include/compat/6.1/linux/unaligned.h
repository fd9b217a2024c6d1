/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <linux/unaligned.h>: 6.12 moved <asm/unaligned.h> here (commit
 * 5f60d5f6bbc1, "move asm/unaligned.h to linux/unaligned.h");
 * 6.1 has the old name only.
 */
#ifndef _KVM_MSIX_COMPAT_LINUX_UNALIGNED_H
#define _KVM_MSIX_COMPAT_LINUX_UNALIGNED_H

#include <asm/unaligned.h>

#endif
