// SPDX-License-Identifier: GPL-2.0-only
/*
 * msix_vfio: a VMM's side of an assigned vfio-pci function whose MSI-X table
 * is served by KVM.  See msix_vfio.h for the interface and README.md for
 * the design.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/pci_regs.h>

#include "msix_vfio.h"

#define ENTRY_SIZE		16
#define ENTRY_CTRL		0xc
#define ENTRY_MASKBIT		1U
#define NO_GSI			UINT32_MAX

static uint64_t page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t align_down(uint64_t x, uint64_t a)
{
	return x & ~(a - 1);
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* ioctl() as 0 or -errno. */
static int xioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

/* Little-endian load and store of 1 to 8 bytes. */
static uint64_t le_load(const uint8_t *p, int len)
{
	uint64_t v = 0;
	int i;

	for (i = len - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void le_store(uint8_t *p, int len, uint64_t v)
{
	int i;

	for (i = 0; i < len; i++, v >>= 8)
		p[i] = v;
}

/* Routing: the library's own table */

/**
 * msix_vfio_routing_init() - an empty routing table for the VM @vm_fd
 * @rt: the table
 * @vm_fd: the VM
 *
 * Nothing reaches KVM until msix_vfio_routing_commit().  Committing an
 * empty table drops the VM's default irqchip routes: a VMM that uses them
 * adds them first with msix_vfio_routing_add().
 */
int msix_vfio_routing_init(struct msix_vfio_routing *rt, int vm_fd)
{
	rt->vm_fd = vm_fd;
	rt->size = 64;
	rt->table = calloc(1, sizeof(*rt->table) +
			   rt->size * sizeof(rt->table->entries[0]));
	return rt->table ? 0 : -ENOMEM;
}

/** msix_vfio_routing_release() - free @rt; KVM keeps what was committed */
void msix_vfio_routing_release(struct msix_vfio_routing *rt)
{
	free(rt->table);
	rt->table = NULL;
	rt->size = 0;
}

/**
 * msix_vfio_routing_add() - add a route (of any type) to @rt
 * @rt: the table
 * @e: the route; several may share a GSI (an irqchip GSI on PIC and IOAPIC)
 */
int msix_vfio_routing_add(struct msix_vfio_routing *rt,
			  const struct kvm_irq_routing_entry *e)
{
	struct kvm_irq_routing *t = rt->table;

	if (t->nr == rt->size) {
		uint32_t size = rt->size * 2;

		t = realloc(t, sizeof(*t) + size * sizeof(t->entries[0]));
		if (!t)
			return -ENOMEM;
		rt->table = t;
		rt->size = size;
	}
	t->entries[t->nr++] = *e;
	return 0;
}

/**
 * msix_vfio_routing_set() - replace the routes of @gsi in a routing table
 * @opaque: a struct msix_vfio_routing
 * @gsi: the GSI
 * @e: its new route, or NULL to remove every route of @gsi
 *
 * Has the signature of struct msix_vfio_router's set().
 */
int msix_vfio_routing_set(void *opaque, uint32_t gsi,
			  const struct kvm_irq_routing_entry *e)
{
	struct msix_vfio_routing *rt = opaque;
	struct kvm_irq_routing *t = rt->table;
	uint32_t i, n = 0;

	for (i = 0; i < t->nr; i++)
		if (t->entries[i].gsi != gsi)
			t->entries[n++] = t->entries[i];
	t->nr = n;
	return e ? msix_vfio_routing_add(rt, e) : 0;
}

/**
 * msix_vfio_routing_commit() - KVM_SET_GSI_ROUTING with the whole table
 * @opaque: a struct msix_vfio_routing
 */
int msix_vfio_routing_commit(void *opaque)
{
	struct msix_vfio_routing *rt = opaque;

	return xioctl(rt->vm_fd, KVM_SET_GSI_ROUTING, rt->table);
}

/* VM */

/**
 * msix_vfio_vm_init() - prepare @vm for assigning devices to the VM @vm_fd
 * @vm: filled in
 * @vm_fd: the VM (KVM_CREATE_VM), with an in-kernel irqchip
 * @cfg: the memslots and GSIs the library may use, and who owns routing
 *
 * The VFIO container is opened with the first device.
 */
int msix_vfio_vm_init(struct msix_vfio_vm *vm, int vm_fd,
		      const struct msix_vfio_vm_cfg *cfg)
{
	int r;

	if (!cfg->nr_slots || cfg->nr_slots > 64 || !cfg->nr_gsis)
		return -EINVAL;
	memset(vm, 0, sizeof(*vm));
	vm->vm_fd = vm_fd;
	vm->container = -1;
	vm->slot_base = cfg->slot_base;
	vm->nr_slots = cfg->nr_slots;
	vm->gsi_base = cfg->gsi_base;
	vm->nr_gsis = cfg->nr_gsis;
	vm->gsis_used = calloc((cfg->nr_gsis + 63) / 64, sizeof(uint64_t));
	if (!vm->gsis_used)
		return -ENOMEM;
	if (cfg->router) {
		vm->router = *cfg->router;
	} else {
		r = msix_vfio_routing_init(&vm->routing, vm_fd);
		if (r) {
			free(vm->gsis_used);
			return r;
		}
		vm->router.set = msix_vfio_routing_set;
		vm->router.commit = msix_vfio_routing_commit;
		vm->router.opaque = &vm->routing;
	}
	pthread_mutex_init(&vm->lock, NULL);
	return 0;
}

/**
 * msix_vfio_vm_release() - free what msix_vfio_vm_init() took
 * @vm: every device closed already
 */
void msix_vfio_vm_release(struct msix_vfio_vm *vm)
{
	if (vm->container >= 0)
		close(vm->container);
	vm->container = -1;
	msix_vfio_routing_release(&vm->routing);
	free(vm->gsis_used);
	vm->gsis_used = NULL;
	pthread_mutex_destroy(&vm->lock);
}

static int slot_alloc(struct msix_vfio_vm *vm)
{
	uint32_t i;

	for (i = 0; i < vm->nr_slots; i++) {
		if (!(vm->slots_used & (1ULL << i))) {
			vm->slots_used |= 1ULL << i;
			return vm->slot_base + i;
		}
	}
	return -ENOSPC;
}

static void slot_free(struct msix_vfio_vm *vm, int slot)
{
	vm->slots_used &= ~(1ULL << (slot - vm->slot_base));
}

static uint32_t gsi_alloc(struct msix_vfio_vm *vm)
{
	uint32_t i;

	for (i = 0; i < vm->nr_gsis; i++) {
		if (!(vm->gsis_used[i / 64] & (1ULL << (i % 64)))) {
			vm->gsis_used[i / 64] |= 1ULL << (i % 64);
			return vm->gsi_base + i;
		}
	}
	return NO_GSI;
}

static void gsi_free(struct msix_vfio_vm *vm, uint32_t gsi)
{
	uint32_t i = gsi - vm->gsi_base;

	vm->gsis_used[i / 64] &= ~(1ULL << (i % 64));
}

/* KVM_SET_USER_MEMORY_REGION; @len 0 deletes the slot. */
static int set_memslot(struct msix_vfio_vm *vm, int slot, uint64_t gpa,
		       uint64_t len, void *hva)
{
	struct kvm_userspace_memory_region m = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = len,
		.userspace_addr = (uintptr_t)hva,
	};

	return xioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &m);
}

/* Device: VFIO */

/**
 * msix_vfio_find() - the first function bound to vfio-pci with these IDs
 * @vendor: PCI vendor ID
 * @device: PCI device ID
 * @bdf: filled with its address, e.g. "0000:00:02.0"
 * @len: size of @bdf
 *
 * Returns 0, or -ENOENT when there is none.
 */
int msix_vfio_find(uint16_t vendor, uint16_t device, char *bdf, size_t len)
{
	const char *drv = "/sys/bus/pci/drivers/vfio-pci";
	unsigned int v, d;
	struct dirent *de;
	char path[PATH_MAX];
	int r = -ENOENT;
	DIR *dir;
	FILE *f;

	dir = opendir(drv);
	if (!dir)
		return -ENOENT;
	while (r && (de = readdir(dir))) {
		if (!strchr(de->d_name, ':'))
			continue;
		snprintf(path, sizeof(path), "%s/%s/vendor", drv, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%x", &v) != 1)
			v = ~0U;
		fclose(f);
		snprintf(path, sizeof(path), "%s/%s/device", drv, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fscanf(f, "%x", &d) != 1)
			d = ~0U;
		fclose(f);
		if (v == vendor && d == device &&
		    snprintf(bdf, len, "%s", de->d_name) < (int)len)
			r = 0;
	}
	closedir(dir);
	return r;
}

/* Open the IOMMU group of @dev and put it in the VM's container. */
static int vfio_attach(struct msix_vfio_dev *dev)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct msix_vfio_vm *vm = dev->vm;
	char path[PATH_MAX], link[PATH_MAX], node[64];
	const char *group;
	ssize_t n;
	int r, type;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group",
		 dev->bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = 0;
	group = strrchr(link, '/');
	group = group ? group + 1 : link;
	if (strlen(group) > 16)
		return -EINVAL;
	snprintf(node, sizeof(node), "/dev/vfio/%s", group);
	dev->group_fd = open(node, O_RDWR | O_CLOEXEC);
	if (dev->group_fd < 0)
		return -errno;
	r = xioctl(dev->group_fd, VFIO_GROUP_GET_STATUS, &status);
	if (r)
		return r;
	/* Another device of the group is bound to a host driver. */
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EPERM;

	if (vm->container < 0) {
		vm->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
		if (vm->container < 0)
			return -errno;
		if (ioctl(vm->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
			return -EINVAL;
	}
	r = xioctl(dev->group_fd, VFIO_GROUP_SET_CONTAINER, &vm->container);
	if (r)
		return r;
	dev->in_container = true;
	if (!vm->iommu_set) {
		/* The IOMMU model is set once a group is in the container. */
		type = ioctl(vm->container, VFIO_CHECK_EXTENSION,
			     VFIO_TYPE1v2_IOMMU) > 0 ? VFIO_TYPE1v2_IOMMU :
							VFIO_TYPE1_IOMMU;
		r = ioctl(vm->container, VFIO_SET_IOMMU, type) < 0 ? -errno : 0;
		if (r)
			return r;
		vm->iommu_set = true;
	}
	dev->device_fd = ioctl(dev->group_fd, VFIO_GROUP_GET_DEVICE_FD,
			       dev->bdf);
	return dev->device_fd < 0 ? -errno : 0;
}

/*
 * VFIO_DEVICE_GET_REGION_INFO with its capability chain; fills @bar and
 * looks for VFIO_REGION_INFO_CAP_MSIX_MAPPABLE.
 */
static int region_info(struct msix_vfio_dev *dev, uint32_t index,
		       struct msix_vfio_bar *bar)
{
	struct vfio_region_info *info;
	struct vfio_info_cap_header *hdr;
	uint32_t argsz = sizeof(*info), off;
	int r;

	info = calloc(1, argsz);
	if (!info)
		return -ENOMEM;
	info->argsz = argsz;
	info->index = index;
	r = xioctl(dev->device_fd, VFIO_DEVICE_GET_REGION_INFO, info);
	if (!r && info->argsz > argsz) {
		/* The capabilities did not fit: ask again with room. */
		struct vfio_region_info *big;

		argsz = info->argsz;
		big = realloc(info, argsz);
		if (!big) {
			free(info);
			return -ENOMEM;
		}
		info = big;
		memset(info, 0, argsz);
		info->argsz = argsz;
		info->index = index;
		r = xioctl(dev->device_fd, VFIO_DEVICE_GET_REGION_INFO, info);
	}
	if (r)
		goto out;

	bar->size = info->size;
	bar->offset = info->offset;
	bar->flags = info->flags;
	if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS))
		goto out;
	for (off = info->cap_offset; off && off + sizeof(*hdr) <= argsz;
	     off = hdr->next) {
		hdr = (struct vfio_info_cap_header *)((uint8_t *)info + off);
		if (hdr->id == VFIO_REGION_INFO_CAP_MSIX_MAPPABLE)
			bar->msix_mappable = true;
		if (hdr->next && hdr->next <= off)
			break;		/* a loop: give up on the rest */
	}
out:
	free(info);
	return r;
}

/**
 * msix_vfio_config_read() - read config space through the vfio region
 * @dev: the device
 * @off: offset in config space
 * @len: 1, 2, 4 or 8
 * @val: the value, little-endian decoded
 */
int msix_vfio_config_read(struct msix_vfio_dev *dev, uint32_t off, int len,
			  uint64_t *val)
{
	uint8_t buf[8];

	if (len < 1 || len > 8)
		return -EINVAL;
	if (pread(dev->device_fd, buf, len, dev->config_offset + off) != len)
		return -EIO;
	*val = le_load(buf, len);
	return 0;
}

/** msix_vfio_config_write() - write config space; see config_read() */
int msix_vfio_config_write(struct msix_vfio_dev *dev, uint32_t off, int len,
			   uint64_t val)
{
	uint8_t buf[8];

	if (len < 1 || len > 8)
		return -EINVAL;
	le_store(buf, len, val);
	if (pwrite(dev->device_fd, buf, len, dev->config_offset + off) != len)
		return -EIO;
	return 0;
}

/**
 * msix_vfio_bar_read() - one access to a BAR through the vfio region
 * @dev: the device
 * @bar: BAR index
 * @off: offset in the BAR
 * @len: 1, 2, 4 or 8; vfio performs an aligned access of that width
 * @val: the value
 *
 * Returns -EIO when vfio refuses, e.g. with memory decoding disabled.
 */
int msix_vfio_bar_read(struct msix_vfio_dev *dev, int bar, uint64_t off,
		       int len, uint64_t *val)
{
	uint8_t buf[8];

	if (bar < 0 || bar >= MSIX_VFIO_NR_BARS || len < 1 || len > 8 ||
	    off + len > dev->bar[bar].size)
		return -EINVAL;
	if (pread(dev->device_fd, buf, len, dev->bar[bar].offset + off) != len)
		return -EIO;
	*val = le_load(buf, len);
	return 0;
}

/** msix_vfio_bar_write() - one write to a BAR; see msix_vfio_bar_read() */
int msix_vfio_bar_write(struct msix_vfio_dev *dev, int bar, uint64_t off,
			int len, uint64_t val)
{
	uint8_t buf[8];

	if (bar < 0 || bar >= MSIX_VFIO_NR_BARS || len < 1 || len > 8 ||
	    off + len > dev->bar[bar].size)
		return -EINVAL;
	le_store(buf, len, val);
	if (pwrite(dev->device_fd, buf, len, dev->bar[bar].offset + off) != len)
		return -EIO;
	return 0;
}

/* Find the MSI-X capability and check it against the BARs. */
static int read_msix_cap(struct msix_vfio_dev *dev)
{
	uint64_t status, pos, id, ctrl, table, pba;
	int r, n;

	r = msix_vfio_config_read(dev, PCI_STATUS, 2, &status);
	if (r)
		return r;
	if (!(status & PCI_STATUS_CAP_LIST))
		return -ENODEV;
	r = msix_vfio_config_read(dev, PCI_CAPABILITY_LIST, 1, &pos);
	/* At most 48 capabilities fit in 256 bytes; a loop ends here. */
	for (n = 0; !r && pos >= 0x40 && n < 48; n++) {
		pos &= ~3ULL;
		r = msix_vfio_config_read(dev, pos, 1, &id);
		if (r || id == PCI_CAP_ID_MSIX)
			break;
		r = msix_vfio_config_read(dev, pos + 1, 1, &pos);
	}
	if (r)
		return r;
	if (pos < 0x40 || n == 48 || id != PCI_CAP_ID_MSIX)
		return -ENODEV;

	if (msix_vfio_config_read(dev, pos + PCI_MSIX_FLAGS, 2, &ctrl) ||
	    msix_vfio_config_read(dev, pos + PCI_MSIX_TABLE, 4, &table) ||
	    msix_vfio_config_read(dev, pos + PCI_MSIX_PBA, 4, &pba))
		return -EIO;
	dev->cap = pos;
	dev->nr_entries = (ctrl & PCI_MSIX_FLAGS_QSIZE) + 1;
	dev->table_bar = table & PCI_MSIX_TABLE_BIR;
	dev->table_offset = table & PCI_MSIX_TABLE_OFFSET;
	dev->pba_bar = pba & PCI_MSIX_PBA_BIR;
	dev->pba_offset = pba & PCI_MSIX_PBA_OFFSET;
	dev->table_len = dev->nr_entries * ENTRY_SIZE;
	dev->pba_len = (dev->nr_entries + 63) / 64 * 8;

	if (dev->table_bar >= MSIX_VFIO_NR_BARS ||
	    dev->pba_bar >= MSIX_VFIO_NR_BARS ||
	    dev->table_offset + dev->table_len > dev->bar[dev->table_bar].size ||
	    dev->pba_offset + dev->pba_len > dev->bar[dev->pba_bar].size)
		return -ENODEV;
	return 0;
}

/* VFIO_DEVICE_SET_IRQS: every vector signals its eventfd, or none does. */
static int set_vfio_irqs(struct msix_vfio_dev *dev, bool on)
{
	struct vfio_irq_set *set;
	size_t size = sizeof(*set);
	int32_t *fds;
	uint32_t i;
	int r;

	if (on)
		size += dev->nr_entries * sizeof(int32_t);
	set = calloc(1, size);
	if (!set)
		return -ENOMEM;
	set->argsz = size;
	set->index = VFIO_PCI_MSIX_IRQ_INDEX;
	set->start = 0;
	if (on) {
		set->flags = VFIO_IRQ_SET_DATA_EVENTFD |
			     VFIO_IRQ_SET_ACTION_TRIGGER;
		set->count = dev->nr_entries;
		fds = (int32_t *)set->data;
		for (i = 0; i < dev->nr_entries; i++)
			fds[i] = dev->vec[i].efd;
	} else {
		set->flags = VFIO_IRQ_SET_DATA_NONE |
			     VFIO_IRQ_SET_ACTION_TRIGGER;
		set->count = 0;
	}
	r = xioctl(dev->device_fd, VFIO_DEVICE_SET_IRQS, set);
	free(set);
	return r;
}

/* Device: KVM */

static struct kvm_irq_routing_entry msi_route(uint32_t gsi, uint64_t address,
					      uint32_t data)
{
	struct kvm_irq_routing_entry e = {
		.gsi = gsi,
		.type = KVM_IRQ_ROUTING_MSI,
		.u.msi.address_lo = (uint32_t)address,
		.u.msi.address_hi = address >> 32,
		.u.msi.data = data,
	};

	return e;
}

/* Point entry @i's GSI at the message the entry holds now. */
static int update_route(struct msix_vfio_dev *dev, uint32_t i,
			uint64_t address, uint32_t data)
{
	struct msix_vfio_vector *v = &dev->vec[i];
	struct kvm_irq_routing_entry e;
	int r;

	if (v->routed && v->address == address && v->data == data)
		return 0;
	e = msi_route(v->gsi, address, data);
	r = dev->vm->router.set(dev->vm->router.opaque, v->gsi, &e);
	if (!r)
		r = dev->vm->router.commit(dev->vm->router.opaque);
	if (r)
		return r;
	v->routed = true;
	v->address = address;
	v->data = data;
	return 0;
}

static uint32_t kvm_ctrl_flags(uint16_t msg_ctrl)
{
	return (msg_ctrl & PCI_MSIX_FLAGS_ENABLE ? KVM_MSIX_CTRL_ENABLE : 0) |
	       (msg_ctrl & PCI_MSIX_FLAGS_MASKALL ?
			KVM_MSIX_CTRL_FUNCTION_MASK : 0);
}

static int set_kvm_ctrl(struct msix_vfio_dev *dev)
{
	struct kvm_msix_table_ctrl c = {
		.id = dev->table_id,
		.flags = kvm_ctrl_flags(dev->msg_ctrl),
	};

	return xioctl(dev->vm->vm_fd, KVM_SET_MSIX_TABLE_CTRL, &c);
}

static int remove_table(struct msix_vfio_dev *dev)
{
	int r = 0;

	if (dev->defined)
		r = xioctl(dev->vm->vm_fd, KVM_REMOVE_MSIX_TABLE,
			   &dev->table_id);
	dev->defined = false;
	dev->passthrough = false;
	return r;
}

/*
 * Whether the kernel can be asked to trap the window: one BAR holds table
 * and PBA, it is mapped here, and the hole is whole pages of it.
 */
static bool can_pass_through(const struct msix_vfio_dev *dev)
{
	const struct msix_vfio_bar *b = &dev->bar[dev->table_bar];

	return !(dev->flags & MSIX_VFIO_NO_PASSTHROUGH) &&
	       dev->table_bar == dev->pba_bar && b->map &&
	       !(b->size % page_size()) && b->hole_end > b->hole_start;
}

/*
 * KVM_DEFINE_MSIX_TABLE once the guest has placed the table and PBA BARs,
 * with the window if the kernel takes it, then bind every entry to its GSI
 * and mirror Message Control.
 */
static int define_table(struct msix_vfio_dev *dev)
{
	struct msix_vfio_bar *tb = &dev->bar[dev->table_bar];
	struct msix_vfio_bar *pb = &dev->bar[dev->pba_bar];
	struct kvm_msix_table t = {
		.id = dev->table_id,
		.nr_entries = dev->nr_entries,
		.table_gpa = tb->gpa + dev->table_offset,
		.pba_gpa = pb->gpa + dev->pba_offset,
		.table_uaddr = (uintptr_t)dev->table,
		.pba_uaddr = (uintptr_t)dev->pba,
	};
	struct kvm_msix_entry_irq b = { .table_id = dev->table_id };
	int vm_fd = dev->vm->vm_fd;
	uint32_t i;
	int r;

	if (dev->flags & MSIX_VFIO_DEFER_UPDATES)
		t.flags |= KVM_MSIX_TABLE_FLAG_DEFER_UPDATES;
	r = -EINVAL;
	if (can_pass_through(dev)) {
		struct kvm_msix_table w = t;

		w.flags |= KVM_MSIX_TABLE_FLAG_PASSTHROUGH;
		w.window_gpa = tb->gpa + tb->hole_start;
		w.window_size = tb->hole_end - tb->hole_start;
		w.window_uaddr = (uintptr_t)(tb->map + tb->hole_start);
		r = xioctl(vm_fd, KVM_DEFINE_MSIX_TABLE, &w);
		dev->passthrough = !r;
	}
	/* A kernel without windows says EINVAL: the window then exits. */
	if (r == -EINVAL)
		r = xioctl(vm_fd, KVM_DEFINE_MSIX_TABLE, &t);
	if (r)
		return r;
	dev->defined = true;

	for (i = 0; i < dev->nr_entries; i++) {
		b.entry = i;
		b.gsi = dev->vec[i].gsi;
		r = xioctl(vm_fd, KVM_SET_MSIX_ENTRY_IRQ, &b);
		if (r)
			goto fail;
	}
	r = set_kvm_ctrl(dev);
	if (!r)
		return 0;
fail:
	remove_table(dev);
	return r;
}

/* The hole of @bar: the page-aligned range around table and/or PBA. */
static void compute_hole(struct msix_vfio_dev *dev, int bar)
{
	struct msix_vfio_bar *b = &dev->bar[bar];
	uint64_t align = max_u64(page_size(), dev->window_align);
	uint64_t start = UINT64_MAX, end = 0;

	if (bar == dev->table_bar) {
		start = dev->table_offset;
		end = dev->table_offset + dev->table_len;
	}
	if (bar == dev->pba_bar) {
		start = min_u64(start, dev->pba_offset);
		end = max_u64(end, dev->pba_offset + dev->pba_len);
	}
	if (!end) {
		b->hole_start = 0;
		b->hole_end = 0;
		return;
	}
	b->hole_start = align_down(start, align);
	b->hole_end = min_u64(align_up(end, align), b->size);
	/* A BAR of less than whole pages cannot be a memslot anyway. */
	if (b->size % page_size()) {
		b->hole_start = 0;
		b->hole_end = b->size;
	}
}

static void delete_memslots(struct msix_vfio_dev *dev, struct msix_vfio_bar *b)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (b->slot[i] < 0)
			continue;
		set_memslot(dev->vm, b->slot[i], 0, 0, NULL);
		slot_free(dev->vm, b->slot[i]);
		b->slot[i] = -1;
	}
}

static int add_memslot(struct msix_vfio_dev *dev, struct msix_vfio_bar *b,
		       int i, uint64_t start, uint64_t end)
{
	int slot, r;

	if (end <= start)
		return 0;
	slot = slot_alloc(dev->vm);
	if (slot < 0)
		return slot;
	r = set_memslot(dev->vm, slot, b->gpa + start, end - start,
			b->map + start);
	if (r) {
		slot_free(dev->vm, slot);
		return r;
	}
	b->slot[i] = slot;
	return 0;
}

/**
 * msix_vfio_map_bar() - place BAR @bar of @dev at guest-physical @gpa
 * @dev: the device
 * @bar: BAR index
 * @gpa: page aligned; where the guest's BAR register points
 *
 * The BAR is mmap()ed (once) and becomes memslots, less the window; once
 * the BARs of the table and the PBA are placed, the table is defined.
 * Guest accesses the memslots do not cover come back as KVM_EXIT_MMIO for
 * msix_vfio_handle_exit().
 */
int msix_vfio_map_bar(struct msix_vfio_dev *dev, int bar, uint64_t gpa)
{
	struct msix_vfio_vm *vm = dev->vm;
	struct msix_vfio_bar *b;
	int r = 0;

	if (bar < 0 || bar >= MSIX_VFIO_NR_BARS || !dev->bar[bar].size ||
	    gpa % page_size())
		return -EINVAL;
	b = &dev->bar[bar];
	pthread_mutex_lock(&vm->lock);
	if (b->mapped) {
		r = -EBUSY;
		goto out;
	}
	if (!b->map && (b->flags & VFIO_REGION_INFO_FLAG_MMAP) &&
	    !(b->size % page_size())) {
		void *p = mmap(NULL, b->size, PROT_READ | PROT_WRITE,
			       MAP_SHARED, dev->device_fd, b->offset);

		/* Without a mapping every access exits: slow, but works. */
		b->map = p == MAP_FAILED ? NULL : p;
	}
	b->gpa = gpa;
	compute_hole(dev, bar);
	if (b->map) {
		r = add_memslot(dev, b, 0, 0, b->hole_end > b->hole_start ?
				b->hole_start : b->size);
		if (!r && b->hole_end > b->hole_start)
			r = add_memslot(dev, b, 1, b->hole_end, b->size);
		if (r)
			goto fail;
	}
	b->mapped = true;

	if ((bar == dev->table_bar || bar == dev->pba_bar) && !dev->defined &&
	    dev->bar[dev->table_bar].mapped && dev->bar[dev->pba_bar].mapped) {
		r = define_table(dev);
		if (r) {
			b->mapped = false;
			goto fail;
		}
	}
	goto out;
fail:
	delete_memslots(dev, b);
out:
	pthread_mutex_unlock(&vm->lock);
	return r;
}

/**
 * msix_vfio_unmap_bar() - take BAR @bar out of the guest (it moves, or the
 * guest disabled memory decoding)
 * @dev: the device
 * @bar: BAR index
 *
 * Removes the table if @bar holds it or the PBA; its memory, pending bits
 * included, stays, and msix_vfio_map_bar() defines it again.
 */
void msix_vfio_unmap_bar(struct msix_vfio_dev *dev, int bar)
{
	struct msix_vfio_bar *b;

	if (bar < 0 || bar >= MSIX_VFIO_NR_BARS)
		return;
	b = &dev->bar[bar];
	pthread_mutex_lock(&dev->vm->lock);
	if (b->mapped && (bar == dev->table_bar || bar == dev->pba_bar))
		remove_table(dev);
	delete_memslots(dev, b);
	b->mapped = false;
	pthread_mutex_unlock(&dev->vm->lock);
}

/**
 * msix_vfio_set_ctrl() - the guest wrote Message Control of the capability
 * @dev: the device
 * @msg_ctrl: the new value (PCI_MSIX_FLAGS_ENABLE, PCI_MSIX_FLAGS_MASKALL)
 *
 * Enabling MSI-X gives vfio the eventfds (VFIO_DEVICE_SET_IRQS); Enable
 * and Function Mask go to the kernel (KVM_SET_MSIX_TABLE_CTRL), which holds
 * the vectors while either says so and delivers what is pending once both
 * allow it.  The device's own Function Mask is never set: the kernel's gate
 * holds the interrupts instead.
 */
int msix_vfio_set_ctrl(struct msix_vfio_dev *dev, uint16_t msg_ctrl)
{
	bool enable = msg_ctrl & PCI_MSIX_FLAGS_ENABLE;
	int r = 0;

	pthread_mutex_lock(&dev->vm->lock);
	if (enable && !dev->irqs_on) {
		r = set_vfio_irqs(dev, true);
		if (r)
			goto out;
		dev->irqs_on = true;
	}
	dev->msg_ctrl = msg_ctrl;
	if (dev->defined)
		r = set_kvm_ctrl(dev);
	if (!enable && dev->irqs_on) {
		set_vfio_irqs(dev, false);
		dev->irqs_on = false;
	}
out:
	pthread_mutex_unlock(&dev->vm->lock);
	return r;
}

/**
 * msix_vfio_pending() - entry @entry's bit in the PBA the guest sees
 * @dev: the device
 * @entry: below dev->nr_entries
 */
bool msix_vfio_pending(const struct msix_vfio_dev *dev, uint32_t entry)
{
	/* The kernel sets bits under the VMM's feet: load it once, whole. */
	uint64_t q = __atomic_load_n(&dev->pba[entry / 64], __ATOMIC_RELAXED);

	return q & (1ULL << (entry % 64));
}

/* The interrupt path of every entry: GSI, MSI route, eventfd, irqfd. */
static int setup_vectors(struct msix_vfio_dev *dev)
{
	struct msix_vfio_router *rt = &dev->vm->router;
	struct kvm_irq_routing_entry e;
	struct kvm_irqfd irqfd = {};
	struct msix_vfio_vector *v;
	uint32_t i;
	int r;

	dev->vec = calloc(dev->nr_entries, sizeof(*dev->vec));
	if (!dev->vec)
		return -ENOMEM;
	for (i = 0; i < dev->nr_entries; i++) {
		dev->vec[i].gsi = NO_GSI;
		dev->vec[i].efd = -1;
	}
	/* Routes first, all in one KVM_SET_GSI_ROUTING. */
	for (i = 0; i < dev->nr_entries; i++) {
		v = &dev->vec[i];
		v->gsi = gsi_alloc(dev->vm);
		if (v->gsi == NO_GSI)
			return -ENOSPC;
		/* The reset message: the entry is masked, nothing is sent. */
		e = msi_route(v->gsi, 0, 0);
		r = rt->set(rt->opaque, v->gsi, &e);
		if (r)
			return r;
		v->routed = true;
	}
	r = rt->commit(rt->opaque);
	if (r)
		return r;
	for (i = 0; i < dev->nr_entries; i++) {
		v = &dev->vec[i];
		v->efd = eventfd(0, EFD_CLOEXEC);
		if (v->efd < 0)
			return -errno;
		irqfd.fd = v->efd;
		irqfd.gsi = v->gsi;
		r = xioctl(dev->vm->vm_fd, KVM_IRQFD, &irqfd);
		if (r)
			return r;
		v->irqfd = true;
	}
	return 0;
}

static void teardown_vectors(struct msix_vfio_dev *dev)
{
	struct msix_vfio_router *rt = &dev->vm->router;
	struct kvm_irqfd irqfd = { .flags = KVM_IRQFD_FLAG_DEASSIGN };
	bool routed = false;
	uint32_t i;

	if (!dev->vec)
		return;
	for (i = 0; i < dev->nr_entries; i++) {
		struct msix_vfio_vector *v = &dev->vec[i];

		if (v->irqfd) {
			irqfd.fd = v->efd;
			irqfd.gsi = v->gsi;
			ioctl(dev->vm->vm_fd, KVM_IRQFD, &irqfd);
		}
		if (v->efd >= 0)
			close(v->efd);
		if (v->routed) {
			rt->set(rt->opaque, v->gsi, NULL);
			routed = true;
		}
		if (v->gsi != NO_GSI)
			gsi_free(dev->vm, v->gsi);
	}
	if (routed)
		rt->commit(rt->opaque);
	free(dev->vec);
	dev->vec = NULL;
}

/* Undo whatever of msix_vfio_open() was done; vm->lock held. */
static void teardown(struct msix_vfio_dev *dev)
{
	struct msix_vfio_vm *vm = dev->vm;
	struct msix_vfio_dev **p;
	int i;

	if (dev->irqs_on)
		set_vfio_irqs(dev, false);
	dev->irqs_on = false;
	remove_table(dev);
	for (i = 0; i < MSIX_VFIO_NR_BARS; i++) {
		struct msix_vfio_bar *b = &dev->bar[i];

		delete_memslots(dev, b);
		if (b->map)
			munmap(b->map, b->size);
		b->map = NULL;
		b->mapped = false;
	}
	teardown_vectors(dev);
	if (dev->table)
		munmap(dev->table, dev->table_len);
	if (dev->pba)
		munmap(dev->pba, dev->pba_len);
	dev->table = NULL;
	dev->pba = NULL;
	if (dev->device_fd >= 0)
		close(dev->device_fd);
	dev->device_fd = -1;
	if (dev->in_container)
		ioctl(dev->group_fd, VFIO_GROUP_UNSET_CONTAINER);
	dev->in_container = false;
	if (dev->group_fd >= 0)
		close(dev->group_fd);
	dev->group_fd = -1;

	for (p = &vm->devs; *p; p = &(*p)->next) {
		if (*p == dev) {
			*p = dev->next;
			break;
		}
	}
	/* The last group left: the container has no IOMMU model any more. */
	if (!vm->devs && vm->container >= 0) {
		close(vm->container);
		vm->container = -1;
		vm->iommu_set = false;
	}
}

/* The smallest table id no open device of the VM uses. */
static uint32_t free_table_id(struct msix_vfio_vm *vm)
{
	struct msix_vfio_dev *d;
	uint32_t id = 1;

again:
	for (d = vm->devs; d; d = d->next) {
		if (d->table_id == id) {
			id++;
			goto again;
		}
	}
	return id;
}

static void *alloc_pages(uint64_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/**
 * msix_vfio_open() - assign the vfio-pci function @bdf to the VM
 * @vm: from msix_vfio_vm_init()
 * @bdf: e.g. "0000:00:02.0", bound to vfio-pci
 * @cfg: options; NULL for the defaults
 * @dev: filled in
 *
 * Opens the group and the device, reads the BARs and the MSI-X capability,
 * allocates the table (every entry masked) and the PBA (zero), and gives
 * each entry a GSI, an MSI route and an irqfd.  The table is defined when
 * msix_vfio_map_bar() has placed its BARs; vfio signals the eventfds once
 * the guest enables MSI-X (msix_vfio_set_ctrl()).  Only one function per
 * IOMMU group is supported.
 */
int msix_vfio_open(struct msix_vfio_vm *vm, const char *bdf,
		   const struct msix_vfio_dev_cfg *cfg,
		   struct msix_vfio_dev *dev)
{
	uint32_t i;
	int r;

	memset(dev, 0, sizeof(*dev));
	if (snprintf(dev->bdf, sizeof(dev->bdf), "%s", bdf) >=
	    (int)sizeof(dev->bdf))
		return -EINVAL;
	dev->vm = vm;
	dev->group_fd = -1;
	dev->device_fd = -1;
	for (i = 0; i < MSIX_VFIO_NR_BARS; i++) {
		dev->bar[i].slot[0] = -1;
		dev->bar[i].slot[1] = -1;
	}
	if (cfg) {
		dev->flags = cfg->flags;
		dev->window_align = cfg->window_align;
	}
	if (dev->window_align & (dev->window_align - 1))
		return -EINVAL;

	pthread_mutex_lock(&vm->lock);
	dev->table_id = free_table_id(vm);
	dev->next = vm->devs;
	vm->devs = dev;

	r = vfio_attach(dev);
	for (i = 0; !r && i < MSIX_VFIO_NR_BARS; i++)
		r = region_info(dev, VFIO_PCI_BAR0_REGION_INDEX + i,
				&dev->bar[i]);
	if (!r) {
		struct msix_vfio_bar config = {};

		r = region_info(dev, VFIO_PCI_CONFIG_REGION_INDEX, &config);
		dev->config_offset = config.offset;
	}
	if (!r)
		r = read_msix_cap(dev);
	if (r)
		goto fail;

	r = -ENOMEM;
	dev->table = alloc_pages(dev->table_len);
	dev->pba = alloc_pages(dev->pba_len);
	if (!dev->table || !dev->pba)
		goto fail;
	/* PCI reset state: every vector masked, nothing pending. */
	for (i = 0; i < dev->nr_entries; i++)
		dev->table[i * 4 + ENTRY_CTRL / 4] = ENTRY_MASKBIT;

	r = setup_vectors(dev);
	if (r)
		goto fail;
	pthread_mutex_unlock(&vm->lock);
	return 0;
fail:
	teardown(dev);
	pthread_mutex_unlock(&vm->lock);
	return r;
}

/**
 * msix_vfio_close() - give the function back: no fd, mapping, memslot,
 * route, irqfd or table of it is left
 * @dev: from msix_vfio_open()
 */
void msix_vfio_close(struct msix_vfio_dev *dev)
{
	struct msix_vfio_vm *vm = dev->vm;

	pthread_mutex_lock(&vm->lock);
	teardown(dev);
	pthread_mutex_unlock(&vm->lock);
}

/* Exits */

/*
 * After userspace changed entries [first, last] of the table: route their
 * messages, and have the kernel rescan for an unmask it did not see.
 */
static int table_changed(struct msix_vfio_dev *dev, uint32_t first,
			 uint32_t last, bool ctrl_written)
{
	uint32_t i, *e;
	int r;

	for (i = first; i <= last; i++) {
		e = &dev->table[i * 4];
		r = update_route(dev, i, (uint64_t)e[1] << 32 | e[0], e[2]);
		if (r)
			return r;
	}
	/* Unchanged flags: the kernel delivers what is pending, unmasked. */
	return ctrl_written && dev->defined ? set_kvm_ctrl(dev) : 0;
}

/* One guest access the kernel left to userspace, at @off in @bar. */
static int emulate(struct msix_vfio_dev *dev, int bar, uint64_t off,
		   struct kvm_run *run)
{
	uint64_t t0 = dev->table_offset, t1 = t0 + dev->table_len;
	uint64_t p0 = dev->pba_offset, p1 = p0 + dev->pba_len;
	uint32_t len = run->mmio.len;
	uint8_t *data = run->mmio.data;
	bool in_table = bar == dev->table_bar && off >= t0 && off + len <= t1;
	bool in_pba = bar == dev->pba_bar && off >= p0 && off + len <= p1;
	bool near_table = bar == dev->table_bar && off < t1 && off + len > t0;
	bool near_pba = bar == dev->pba_bar && off < p1 && off + len > p0;
	bool ctrl = false;
	uint64_t val;
	uint32_t i;

	if (in_table) {
		uint8_t *mem = (uint8_t *)dev->table + (off - t0);

		if (!run->mmio.is_write) {
			memcpy(data, mem, len);
			return 0;
		}
		memcpy(mem, data, len);
		for (i = 0; i < len; i++)
			ctrl |= (off - t0 + i) % ENTRY_SIZE >= ENTRY_CTRL;
		return table_changed(dev, (off - t0) / ENTRY_SIZE,
				     (off - t0 + len - 1) / ENTRY_SIZE, ctrl);
	}
	if (in_pba) {
		/* Software must not write the PBA: writes are dropped. */
		if (!run->mmio.is_write)
			memcpy(data, (uint8_t *)dev->pba + (off - p0), len);
		return 0;
	}
	if (near_table || near_pba) {
		/* Straddles the table or PBA and the device: byte by byte. */
		for (i = 0; i < len; i++) {
			struct kvm_run one = *run;

			one.mmio.len = 1;
			one.mmio.data[0] = data[i];
			emulate(dev, bar, off + i, &one);
			data[i] = one.mmio.data[0];
		}
		return 0;
	}

	/* The device: one access of the guest's width; refused writes drop. */
	if (run->mmio.is_write) {
		msix_vfio_bar_write(dev, bar, off, len, le_load(data, len));
		return 0;
	}
	/* A refused read (decoding disabled) reads as a master abort. */
	if (msix_vfio_bar_read(dev, bar, off, len, &val))
		val = ~0ULL;
	le_store(data, len, val);
	return 0;
}

/**
 * msix_vfio_handle_exit() - handle @run's exit if it is for an open device
 * @vm: the VM
 * @run: a vCPU's kvm_run after KVM_RUN returned
 *
 * KVM_EXIT_MSIX_ENTRY_UPDATED: the entry's GSI is routed to its new
 * message.  KVM_EXIT_MMIO inside a placed BAR: the access is performed on
 * the table or PBA memory, or on the device through vfio with the guest's
 * width.  Returns 1 if handled, 0 if the exit is not the library's, or a
 * negative errno.
 */
int msix_vfio_handle_exit(struct msix_vfio_vm *vm, struct kvm_run *run)
{
	struct msix_vfio_dev *dev;
	int bar, r = 0;

	pthread_mutex_lock(&vm->lock);
	if (run->exit_reason == KVM_EXIT_MSIX_ENTRY_UPDATED) {
		uint32_t entry = run->msix_entry_updated.entry;

		for (dev = vm->devs; dev; dev = dev->next) {
			if (!dev->defined ||
			    dev->table_id != run->msix_entry_updated.table_id)
				continue;
			r = entry < dev->nr_entries ?
				update_route(dev, entry,
					     run->msix_entry_updated.address,
					     run->msix_entry_updated.data) :
				-EINVAL;
			if (!r)
				r = 1;
			break;
		}
	} else if (run->exit_reason == KVM_EXIT_MMIO) {
		uint64_t gpa = run->mmio.phys_addr;
		uint32_t len = run->mmio.len;

		for (dev = vm->devs; dev && !r; dev = dev->next) {
			for (bar = 0; bar < MSIX_VFIO_NR_BARS; bar++) {
				struct msix_vfio_bar *b = &dev->bar[bar];

				if (!b->mapped || gpa < b->gpa ||
				    gpa - b->gpa + len > b->size)
					continue;
				r = emulate(dev, bar, gpa - b->gpa, run);
				if (!r)
					r = 1;
				break;
			}
		}
	}
	pthread_mutex_unlock(&vm->lock);
	return r;
}
