/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * msix_vfio: a VMM's side of an assigned vfio-pci function whose MSI-X table
 * is served by KVM (kvm-msix, Documentation/virt/kvm/msix.rst).
 *
 * Plain C on libc, <linux/kvm.h> and <linux/vfio.h>, for VMM authors to copy:
 *
 *	struct msix_vfio_vm vm;		one per VM: container, memslots, GSIs
 *	struct msix_vfio_dev dev;	one per assigned function
 *
 *	msix_vfio_vm_init(&vm, vm_fd, &vm_cfg);
 *	msix_vfio_open(&vm, "0000:00:02.0", &dev_cfg, &dev);
 *	msix_vfio_map_bar(&dev, 0, bar0_gpa);	for each BAR the guest placed
 *	msix_vfio_set_ctrl(&dev, PCI_MSIX_FLAGS_ENABLE);  guest's Message Control
 *	in the KVM_RUN loop: msix_vfio_handle_exit(&vm, run)
 *	msix_vfio_close(&dev);
 *	msix_vfio_vm_release(&vm);
 *
 * What it sets up (see README.md next to this file):
 *
 * - each BAR is mmap()ed whole and given to the guest as KVM memslots, less
 *   one page-aligned window around the MSI-X table and PBA;
 * - the table and the PBA live in memory of this process (every entry masked
 *   at reset, the PBA zero) and are defined in KVM with
 *   KVM_DEFINE_MSIX_TABLE; with KVM_MSIX_TABLE_FLAG_PASSTHROUGH the kernel
 *   also performs the guest's other accesses in the window on the BAR
 *   mapping, otherwise they come here as KVM_EXIT_MMIO and are performed
 *   with pread()/pwrite() on the vfio region;
 * - the PBA the guest reads is always this memory, with the pending bits the
 *   kernel sets while a vector is masked, never the device's own PBA;
 * - each entry has a GSI routed as MSI to the entry's message, an irqfd on
 *   an eventfd that vfio signals for the device's vector
 *   (VFIO_DEVICE_SET_IRQS), and is bound to the GSI with
 *   KVM_SET_MSIX_ENTRY_IRQ, so the kernel holds the vector's interrupts as
 *   pending while it is masked: mask and unmask never change routes or
 *   eventfds.  Routes change only on KVM_EXIT_MSIX_ENTRY_UPDATED.
 *
 * GSI routing: KVM_SET_GSI_ROUTING replaces a VM's whole routing table, so one
 * owner must hold all of it.  By default the library owns it (struct
 * msix_vfio_routing, inside struct msix_vfio_vm): a caller that needs other
 * routes (irqchip pins, its own MSIs) adds them with msix_vfio_routing_set()
 * and never calls KVM_SET_GSI_ROUTING itself.  A VMM that already owns its
 * routing table instead passes a struct msix_vfio_router in the VM
 * configuration; the library then only tells it which GSI gets which route
 * and when to write the table.
 *
 * Not thread-safe on its own: msix_vfio_handle_exit() and the others take
 * vm->lock, so vCPU threads may share a VM; a device must not be closed
 * while another thread uses it.
 *
 * Every function returns 0 (or a documented non-negative value) on success
 * and a negative errno on failure, and a failed call leaves nothing behind:
 * no file descriptor, mapping, memslot, route, irqfd or table.
 */
#ifndef MSIX_VFIO_H
#define MSIX_VFIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>
#include <linux/vfio.h>

#define MSIX_VFIO_NR_BARS	6

/*
 * Who writes the VM's GSI routing table.  set() records the route of @gsi
 * (@e, an MSI route with e->gsi == @gsi) or forgets it (@e NULL); the
 * library calls commit() once after one or more set() calls, and expects
 * the table to be in KVM (KVM_SET_GSI_ROUTING) when it returns 0.
 */
struct msix_vfio_router {
	int (*set)(void *opaque, uint32_t gsi,
		   const struct kvm_irq_routing_entry *e);
	int (*commit)(void *opaque);
	void *opaque;
};

/* The library's own routing table: every route of the VM. */
struct msix_vfio_routing {
	int vm_fd;
	struct kvm_irq_routing *table;	/* table->nr entries in use */
	uint32_t size;			/* entries allocated */
};

struct msix_vfio_vm_cfg {
	/* KVM memslots [slot_base, slot_base + nr_slots) are the library's. */
	uint32_t slot_base;
	uint32_t nr_slots;		/* at most 64 */
	/* So are GSIs [gsi_base, gsi_base + nr_gsis). */
	uint32_t gsi_base;
	uint32_t nr_gsis;
	/* NULL: the library owns the routing table (vm->routing). */
	const struct msix_vfio_router *router;
};

struct msix_vfio_dev;

struct msix_vfio_vm {
	int vm_fd;
	int container;			/* /dev/vfio/vfio, -1 until needed */
	bool iommu_set;			/* VFIO_SET_IOMMU done */
	uint32_t slot_base;
	uint32_t nr_slots;
	uint64_t slots_used;		/* bit n: slot_base + n */
	uint32_t gsi_base;
	uint32_t nr_gsis;
	uint64_t *gsis_used;		/* bitmap of nr_gsis bits */
	struct msix_vfio_router router;
	struct msix_vfio_routing routing;	/* when router is the default */
	struct msix_vfio_dev *devs;	/* open devices */
	pthread_mutex_t lock;
};

/* Device options. */
#define MSIX_VFIO_NO_PASSTHROUGH	(1U << 0)	/* never ask for the window */
#define MSIX_VFIO_DEFER_UPDATES		(1U << 1)	/* KVM_MSIX_TABLE_FLAG_DEFER_UPDATES */

struct msix_vfio_dev_cfg {
	uint32_t flags;			/* MSIX_VFIO_* */
	/*
	 * Alignment of the trapped window, a power of two; 0 means the host
	 * page size.  A host with 64K pages traps at least 64K around the
	 * table; a larger value here shows what that costs on a 4K host.
	 */
	uint64_t window_align;
};

struct msix_vfio_bar {
	uint64_t size;			/* 0: no such BAR */
	uint64_t offset;		/* of the region in the device fd */
	uint32_t flags;			/* VFIO_REGION_INFO_FLAG_* */
	bool msix_mappable;		/* VFIO_REGION_INFO_CAP_MSIX_MAPPABLE */
	uint8_t *map;			/* mmap() of the whole BAR, or NULL */
	bool mapped;			/* placed in the guest at gpa */
	uint64_t gpa;
	/* [hole_start, hole_end): not a memslot; exits or the window */
	uint64_t hole_start;
	uint64_t hole_end;
	int slot[2];			/* memslots below and above the hole */
};

/* One table entry's interrupt path. */
struct msix_vfio_vector {
	uint32_t gsi;
	int efd;			/* vfio signals it, KVM_IRQFD reads it */
	bool routed;			/* gsi has its route */
	bool irqfd;			/* KVM_IRQFD assigned */
	uint64_t address;		/* the message routed to gsi */
	uint32_t data;
};

struct msix_vfio_dev {
	struct msix_vfio_vm *vm;
	struct msix_vfio_dev *next;
	char bdf[32];
	int group_fd;
	int device_fd;
	bool in_container;		/* VFIO_GROUP_SET_CONTAINER done */
	uint32_t flags;			/* from the configuration */
	uint64_t window_align;

	struct msix_vfio_bar bar[MSIX_VFIO_NR_BARS];
	uint64_t config_offset;		/* of the config region in device_fd */

	/* The MSI-X capability, read from config space. */
	uint8_t cap;			/* its offset in config space */
	uint32_t nr_entries;
	uint8_t table_bar;
	uint8_t pba_bar;
	uint64_t table_offset;		/* in table_bar */
	uint64_t pba_offset;		/* in pba_bar */

	/* The table and PBA the guest sees: this process's memory. */
	uint32_t *table;		/* nr_entries * 4 dwords */
	uint64_t *pba;
	uint64_t table_len;
	uint64_t pba_len;

	uint32_t table_id;
	bool defined;			/* KVM_DEFINE_MSIX_TABLE done */
	bool passthrough;		/* ... with the window */
	uint16_t msg_ctrl;		/* the guest's Message Control */
	bool irqs_on;			/* vfio MSI-X triggers set */
	struct msix_vfio_vector *vec;	/* nr_entries */
};

/* VM */
int msix_vfio_vm_init(struct msix_vfio_vm *vm, int vm_fd,
		      const struct msix_vfio_vm_cfg *cfg);
void msix_vfio_vm_release(struct msix_vfio_vm *vm);
int msix_vfio_handle_exit(struct msix_vfio_vm *vm, struct kvm_run *run);

/* The library's routing table (also usable on its own). */
int msix_vfio_routing_init(struct msix_vfio_routing *rt, int vm_fd);
void msix_vfio_routing_release(struct msix_vfio_routing *rt);
int msix_vfio_routing_set(void *rt, uint32_t gsi,
			  const struct kvm_irq_routing_entry *e);
int msix_vfio_routing_add(struct msix_vfio_routing *rt,
			  const struct kvm_irq_routing_entry *e);
int msix_vfio_routing_commit(void *rt);

/* Device */
int msix_vfio_find(uint16_t vendor, uint16_t device, char *bdf, size_t len);
int msix_vfio_open(struct msix_vfio_vm *vm, const char *bdf,
		   const struct msix_vfio_dev_cfg *cfg,
		   struct msix_vfio_dev *dev);
void msix_vfio_close(struct msix_vfio_dev *dev);
int msix_vfio_map_bar(struct msix_vfio_dev *dev, int bar, uint64_t gpa);
void msix_vfio_unmap_bar(struct msix_vfio_dev *dev, int bar);
int msix_vfio_set_ctrl(struct msix_vfio_dev *dev, uint16_t msg_ctrl);

/* Device access from the VMM (config space, BARs): pread()/pwrite(). */
int msix_vfio_config_read(struct msix_vfio_dev *dev, uint32_t off, int len,
			  uint64_t *val);
int msix_vfio_config_write(struct msix_vfio_dev *dev, uint32_t off, int len,
			   uint64_t val);
int msix_vfio_bar_read(struct msix_vfio_dev *dev, int bar, uint64_t off,
		       int len, uint64_t *val);
int msix_vfio_bar_write(struct msix_vfio_dev *dev, int bar, uint64_t off,
			int len, uint64_t val);

/* Whether entry @entry's Pending bit is set (the kernel's PBA). */
bool msix_vfio_pending(const struct msix_vfio_dev *dev, uint32_t entry);

#endif /* MSIX_VFIO_H */
