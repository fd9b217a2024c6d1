/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pin_user_pages_fast(FOLL_WRITE | FOLL_LONGTERM): since 6.5 (commits
 * 8ac268436e6d and a6e79df92e4a, "mm/gup: disallow FOLL_LONGTERM
 * GUP-nonfast/GUP-fast writing to file-backed mappings") GUP refuses to
 * pin, for long and for writing, pages of a shared writable mapping whose
 * file needs its dirty pages tracked (a filesystem that writes pages back,
 * or wants page_mkwrite): the filesystem cannot write back a page the
 * kernel may dirty behind its back.  6.1 pins them.  Refuse them as 6.12
 * does (-EFAULT), so that 6.1 accepts the same tables (anonymous memory,
 * shmem and memfd, hugetlbfs) and no others.
 *
 * The mappings are checked and pinned under one mmap_read_lock(), so that
 * the pages pinned are those of the mappings checked.
 *
 * For msix.o only (patches/6.1/series.mk, MSIX_CFLAGS).
 */
#ifndef _KVM_MSIX_COMPAT_PIN_USER_PAGES_FAST_H
#define _KVM_MSIX_COMPAT_PIN_USER_PAGES_FAST_H

#include <linux/backing-dev.h>
#include <linux/fs.h>
#include <linux/mm.h>

/* 6.12's vma_needs_dirty_tracking(). */
static inline bool kvm_msix_vma_needs_dirty_tracking(struct vm_area_struct *vma)
{
	const struct vm_operations_struct *ops = vma->vm_ops;

	if ((vma->vm_flags & (VM_SHARED | VM_WRITE)) != (VM_SHARED | VM_WRITE))
		return false;
	if (ops && (ops->page_mkwrite || ops->pfn_mkwrite))
		return true;
	if (vma->vm_flags & VM_PFNMAP)
		return false;
	return vma->vm_file && vma->vm_file->f_mapping &&
	       mapping_can_writeback(vma->vm_file->f_mapping);
}

static inline int kvm_msix_pin_user_pages_fast(unsigned long start,
					       int nr_pages,
					       unsigned int gup_flags,
					       struct page **pages)
{
	unsigned long addr, end = start + ((unsigned long)nr_pages << PAGE_SHIFT);
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	long r = 0;

	if ((gup_flags & (FOLL_WRITE | FOLL_LONGTERM)) !=
	    (FOLL_WRITE | FOLL_LONGTERM))
		return pin_user_pages_fast(start, nr_pages, gup_flags, pages);

	mmap_read_lock(mm);
	for (addr = start; addr < end; addr = vma->vm_end) {
		/* A hole: pin_user_pages() reports it. */
		vma = vma_lookup(mm, addr);
		if (!vma)
			break;
		if (!vma_is_anonymous(vma) &&
		    kvm_msix_vma_needs_dirty_tracking(vma)) {
			r = -EFAULT;
			break;
		}
	}
	if (!r)
		r = pin_user_pages(start, nr_pages, gup_flags, pages, NULL);
	mmap_read_unlock(mm);
	return r;
}

#define pin_user_pages_fast kvm_msix_pin_user_pages_fast

#endif
