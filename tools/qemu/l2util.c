// SPDX-License-Identifier: GPL-2.0
/*
 * l2util: the helpers check-qemu's nested guest (L2) needs that busybox
 * lacks.  Built static on the host.
 *
 *   l2util out PORT VAL        one 1-byte write to an I/O port, made by the
 *                              kernel (/dev/port): the phase marker the
 *                              outer VM (L1) sees as kvm_pio.  (iopl() and
 *                              OUT from user mode raised #GP in L2 under
 *                              nested SVM on TCG.)
 *   l2util msix                every PCI function's MSI-X table and PBA as
 *                              guest-physical ranges, one line each:
 *                              BDF VID:DID NVEC TABLE END PBA END (END
 *                              exclusive; read from config space + resource)
 *   l2util pattern write|verify DEV OFFSET SIZE SEED
 *                              an O_DIRECT write or read-and-compare of a
 *                              seeded pattern
 *   l2util admin DEV N         N NVMe Identify Controller admin commands
 *                              (each completes with an admin queue interrupt)
 *   l2util kick [-n NVMEDEV] PEER...
 *                              one ICMP echo to each PEER, answered within 2 s,
 *                              and one admin command: an interrupt on each
 *                              device's queues without a fork per device
 *   l2util msixdump            every MSI-X table entry and PBA QWORD, read
 *                              through the BAR (mmap of resourceN):
 *                              "tbl BDF VEC ADDR_HI ADDR_LO DATA CTRL" and
 *                              "pba BDF QWORD VALUE" (hex)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sys/socket.h>
#include <linux/nvme_ioctl.h>

#define PCI_CAP_ID_MSIX	0x11

static int usage(void)
{
	fprintf(stderr, "usage: l2util out PORT VAL | msix | "
		"pattern write|verify DEV OFFSET SIZE SEED | admin DEV N | "
		"kick [-n NVMEDEV] PEER... | msixdump\n");
	return 2;
}

static int cmd_out(unsigned long port, unsigned long val)
{
	uint8_t b = val;
	int fd;

	fd = open("/dev/port", O_WRONLY);
	if (fd < 0 || port > 0xffff || val > 0xff ||
	    pwrite(fd, &b, 1, port) != 1) {
		perror("/dev/port");
		return 1;
	}
	close(fd);
	return 0;
}

static uint32_t cfg32(const uint8_t *c, int off)
{
	return c[off] | c[off + 1] << 8 | c[off + 2] << 16 | (uint32_t)c[off + 3] << 24;
}

/* The start of BAR @bir from the sysfs resource file (one line per BAR). */
static int bar_start(const char *dev, int bir, unsigned long long *start)
{
	char path[512], line[256];
	unsigned long long s, e, f;
	FILE *fp;
	int i = 0, ret = -1;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", dev);
	fp = fopen(path, "r");
	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp)) {
		if (i++ != bir)
			continue;
		if (sscanf(line, "%llx %llx %llx", &s, &e, &f) == 3 && s) {
			*start = s;
			ret = 0;
		}
		break;
	}
	fclose(fp);
	return ret;
}

/*
 * Read @dev's config space into @c and find its MSI-X capability: its
 * offset, or 0 if it has none.
 */
static int msix_cap(const char *dev, uint8_t c[256])
{
	char path[512];
	int fd, n, pos, guard;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", dev);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, c, 256);
	close(fd);
	if (n < 64 || !(c[6] & 0x10))	/* Status: Capabilities List */
		return 0;
	for (pos = c[0x34] & 0xfc, guard = 0; pos && pos < n - 12 && guard < 48;
	     pos = c[pos + 1] & 0xfc, guard++)
		if (c[pos] == PCI_CAP_ID_MSIX)
			return pos;
	return 0;
}

static void msix_one(const char *dev)
{
	unsigned long long tbar, pbar;
	uint8_t c[256];
	uint32_t tbl, pba;
	int pos = msix_cap(dev, c), nvec;

	if (!pos)
		return;
	nvec = ((c[pos + 2] | c[pos + 3] << 8) & 0x7ff) + 1;
	tbl = cfg32(c, pos + 4);
	pba = cfg32(c, pos + 8);
	if (bar_start(dev, tbl & 7, &tbar) || bar_start(dev, pba & 7, &pbar)) {
		printf("%s %04x:%04x %d unmapped\n", dev,
		       c[0] | c[1] << 8, c[2] | c[3] << 8, nvec);
		return;
	}
	tbar += tbl & ~7u;
	pbar += pba & ~7u;
	printf("%s %04x:%04x %d 0x%llx 0x%llx 0x%llx 0x%llx\n", dev,
	       c[0] | c[1] << 8, c[2] | c[3] << 8, nvec,
	       tbar, tbar + nvec * 16ull, pbar, pbar + (nvec + 63) / 64 * 8ull);
}

/* Map @len bytes at @off of BAR @bir (sysfs resourceN), read-only. */
static volatile uint32_t *bar_map(const char *dev, int bir, uint32_t off,
				  size_t len, void **base, size_t *maplen)
{
	char path[512];
	long pg = sysconf(_SC_PAGESIZE);
	uint32_t start = off & ~(pg - 1);
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource%d", dev, bir);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		return NULL;
	*maplen = off - start + len;
	*base = mmap(NULL, *maplen, PROT_READ, MAP_SHARED, fd, start);
	close(fd);
	if (*base == MAP_FAILED)
		return NULL;
	return (volatile uint32_t *)((char *)*base + (off - start));
}

static void msixdump_one(const char *dev)
{
	uint8_t c[256];
	uint32_t tbl, pba;
	volatile uint32_t *t, *p;
	void *tb, *pb;
	size_t tl, pl;
	int pos = msix_cap(dev, c), nvec, i;

	if (!pos)
		return;
	nvec = ((c[pos + 2] | c[pos + 3] << 8) & 0x7ff) + 1;
	tbl = cfg32(c, pos + 4);
	pba = cfg32(c, pos + 8);
	printf("ctl %s %04x\n", dev, c[pos + 2] | c[pos + 3] << 8);
	t = bar_map(dev, tbl & 7, tbl & ~7u, nvec * 16, &tb, &tl);
	p = bar_map(dev, pba & 7, pba & ~7u, (nvec + 63) / 64 * 8, &pb, &pl);
	if (!t || !p) {
		printf("tbl %s unmapped: %s\n", dev, strerror(errno));
		return;
	}
	for (i = 0; i < nvec; i++)
		printf("tbl %s %d %08x %08x %08x %08x\n", dev, i,
		       t[i * 4 + 1], t[i * 4], t[i * 4 + 2], t[i * 4 + 3]);
	for (i = 0; i < (nvec + 63) / 64; i++)
		printf("pba %s %d %08x%08x\n", dev, i, p[i * 2 + 1], p[i * 2]);
	munmap(tb, tl);
	munmap(pb, pl);
}

/* Call @fn for every PCI function, in order. */
static int for_each_pci_dev(void (*fn)(const char *dev))
{
	struct dirent **list;
	int i, n;

	n = scandir("/sys/bus/pci/devices", &list, NULL, alphasort);
	if (n < 0) {
		perror("/sys/bus/pci/devices");
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (list[i]->d_name[0] != '.')
			fn(list[i]->d_name);
		free(list[i]);
	}
	free(list);
	return 0;
}

static void fill(uint8_t *buf, size_t size, unsigned long long off, unsigned long seed)
{
	uint64_t *p = (uint64_t *)buf;
	size_t i;

	for (i = 0; i < size / 8; i++)
		p[i] = (off + i * 8) * 0x9e3779b97f4a7c15ull ^ seed;
}

static int cmd_pattern(const char *op, const char *dev, unsigned long long off,
		       size_t size, unsigned long seed)
{
	int wr = !strcmp(op, "write");
	uint8_t *buf, *want;
	ssize_t n;
	size_t i;
	int fd;

	if (!wr && strcmp(op, "verify"))
		return usage();
	if (posix_memalign((void **)&buf, 4096, size) ||
	    posix_memalign((void **)&want, 4096, size))
		return 1;
	fill(want, size, off, seed);
	fd = open(dev, (wr ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (fd < 0) {
		perror(dev);
		return 1;
	}
	if (wr) {
		n = pwrite(fd, want, size, off);
		if (n == (ssize_t)size && fdatasync(fd))
			n = -1;
	} else {
		memset(buf, 0, size);
		n = pread(fd, buf, size, off);
	}
	if (n != (ssize_t)size) {
		fprintf(stderr, "%s %s: %zd of %zu bytes: %s\n", op, dev, n, size,
			n < 0 ? strerror(errno) : "short");
		return 1;
	}
	close(fd);
	if (!wr && memcmp(buf, want, size)) {
		for (i = 0; i < size && buf[i] == want[i]; i++)
			;
		fprintf(stderr, "verify %s: mismatch at byte %zu\n", dev, i);
		return 1;
	}
	return 0;
}

static int cmd_admin(const char *dev, int count)
{
	static uint8_t id[4096] __attribute__((aligned(4096)));
	struct nvme_admin_cmd cmd;
	int fd, i, r;

	fd = open(dev, O_RDONLY);
	if (fd < 0) {
		perror(dev);
		return 1;
	}
	for (i = 0; i < count; i++) {
		memset(&cmd, 0, sizeof(cmd));
		cmd.opcode = 0x06;		/* Identify */
		cmd.addr = (uintptr_t)id;
		cmd.data_len = sizeof(id);
		cmd.cdw10 = 1;			/* CNS 1: the controller */
		r = ioctl(fd, NVME_IOCTL_ADMIN_CMD, &cmd);
		if (r) {
			fprintf(stderr, "admin %s: %d %s\n", dev, r,
				r < 0 ? strerror(errno) : "(NVMe status)");
			return 1;
		}
	}
	close(fd);
	return 0;
}

static uint16_t csum(const void *p, int len)
{
	const uint16_t *w = p;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *w++;
	if (len)
		sum += *(const uint8_t *)w;
	sum = (sum >> 16) + (sum & 0xffff);
	sum += sum >> 16;
	return ~sum;
}

/* One echo request to @peer, and its reply within 2 s. */
static int ping_one(int s, const char *peer, uint16_t seq)
{
	struct sockaddr_in to = { .sin_family = AF_INET }, from;
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	uint8_t buf[1500];
	struct icmphdr h, *r;
	struct iphdr *ip;
	socklen_t fl;
	ssize_t n;

	if (inet_pton(AF_INET, peer, &to.sin_addr) != 1)
		return -1;
	memset(&h, 0, sizeof(h));
	h.type = ICMP_ECHO;
	h.un.echo.id = htons(getpid());
	h.un.echo.sequence = htons(seq);
	h.checksum = csum(&h, sizeof(h));
	if (sendto(s, &h, sizeof(h), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -1;
	while (poll(&pfd, 1, 2000) == 1) {
		fl = sizeof(from);
		n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < (ssize_t)sizeof(*ip))
			continue;
		ip = (struct iphdr *)buf;
		if (n < ip->ihl * 4 + (ssize_t)sizeof(*r))
			continue;
		r = (struct icmphdr *)(buf + ip->ihl * 4);
		if (from.sin_addr.s_addr == to.sin_addr.s_addr &&
		    r->type == ICMP_ECHOREPLY && r->un.echo.id == h.un.echo.id &&
		    r->un.echo.sequence == h.un.echo.sequence)
			return 0;
	}
	return -1;
}

static int cmd_kick(int argc, char **argv)
{
	static uint16_t seq;
	const char *nvme = NULL;
	int i, s, ret = 0;

	if (argc > 1 && !strcmp(argv[0], "-n")) {
		nvme = argv[1];
		argc -= 2;
		argv += 2;
	}
	s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (s < 0) {
		perror("socket");
		return 1;
	}
	seq = time(NULL);
	for (i = 0; i < argc; i++) {
		if (ping_one(s, argv[i], ++seq)) {
			fprintf(stderr, "kick: no answer from %s\n", argv[i]);
			ret = 1;
		}
	}
	close(s);
	if (nvme && cmd_admin(nvme, 1))
		ret = 1;
	return ret;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "out"))
		return cmd_out(strtoul(argv[2], NULL, 0), strtoul(argv[3], NULL, 0));
	if (argc == 2 && !strcmp(argv[1], "msix"))
		return for_each_pci_dev(msix_one);
	if (argc == 2 && !strcmp(argv[1], "msixdump"))
		return for_each_pci_dev(msixdump_one);
	if (argc == 7 && !strcmp(argv[1], "pattern"))
		return cmd_pattern(argv[2], argv[3], strtoull(argv[4], NULL, 0),
				   strtoul(argv[5], NULL, 0), strtoul(argv[6], NULL, 0));
	if (argc == 4 && !strcmp(argv[1], "admin"))
		return cmd_admin(argv[2], atoi(argv[3]));
	if (argc >= 2 && !strcmp(argv[1], "kick"))
		return cmd_kick(argc - 2, argv + 2);
	return usage();
}
