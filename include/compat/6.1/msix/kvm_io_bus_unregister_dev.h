/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kvm_io_bus_unregister_dev(): since 6.5 (commit 5ea5ca3c2b4b "KVM:
 * destruct kvm_io_device while unregistering it from kvm_io_bus") it calls
 * the device's destructor, after the SRCU grace period, whether the bus
 * shrank or had to be destroyed whole.  In 6.1 the caller destroys the
 * device it unregistered: the destructor runs for every other device on a
 * bus that could not shrink, never for the one being removed.  msix.c is
 * written for the later behaviour (its destructor drops the table's
 * reference and clears the table's pointer to the device); give it that.
 *
 * For msix.o only (patches/6.1/series.mk, MSIX_CFLAGS): the other callers
 * in 6.1's kvm.ko destroy their devices themselves.
 */
#ifndef _KVM_MSIX_COMPAT_KVM_IO_BUS_UNREGISTER_DEV_H
#define _KVM_MSIX_COMPAT_KVM_IO_BUS_UNREGISTER_DEV_H

#include <linux/kvm_host.h>
#include <kvm/iodev.h>

static inline int kvm_msix_io_bus_unregister_dev(struct kvm *kvm,
						 enum kvm_bus bus_idx,
						 struct kvm_io_device *dev)
{
	struct kvm_io_bus *bus = kvm_get_bus(kvm, bus_idx);
	bool found = false;
	int i, r;

	/* A device that is not on the bus is left alone, as later. */
	for (i = 0; bus && i < bus->dev_count; i++)
		found |= bus->range[i].dev == dev;
	r = kvm_io_bus_unregister_dev(kvm, bus_idx, dev);
	if (found)
		kvm_iodevice_destructor(dev);
	return r;
}

#define kvm_io_bus_unregister_dev kvm_msix_io_bus_unregister_dev

#endif
