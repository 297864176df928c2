/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Spectrum Camera: virtio-media capture and output driver.
 * The kernel interfaces this driver uses that changed between Linux 6.1 and
 * 7.0, so that one source builds on all of them. Each entry names the
 * release and the header where the interface changed. Every variant does the
 * same thing: no behaviour differs between kernels.
 *
 * Checked and unchanged for this driver's use from 6.13 through 7.0 (so not
 * wrapped here): virtio_device_ready(), virtqueue_add_sgs(),
 * virtqueue_detach_unused_buf(), the virtio_driver .remove hook (void since
 * before 6.1), the V4L2 ioctl handler signatures (from 6.18 the core passes
 * NULL as the second argument, "priv", which this driver never reads; it
 * finds its session through file->private_data), vb2_ioctl_*() and
 * vb2_fop_*(). Not used by this driver, so nothing to wrap:
 * vb2_queue.min_buffers_needed (renamed min_queued_buffers in 6.8, commit
 * 80c2b40a5139), strlcpy() (gone by 6.8), and timers (del_timer() and its
 * rename to timer_delete()).
 */
#ifndef VMC_COMPAT_H
#define VMC_COMPAT_H

#include <linux/fs.h>
#include <linux/module.h>
#include <linux/version.h>
#include <linux/virtio_config.h>
#include <media/v4l2-fh.h>
#include <media/videobuf2-core.h>

/*
 * 6.13, include/linux/module.h (commit cdd30ebb1b9f, "module: Convert symbol
 * namespace to string literal"): MODULE_IMPORT_NS() takes a string literal.
 * Before, it took a bare identifier and stringified it; the macro below
 * expands to DMA_BUF first, so both forms import the same namespace.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define VMC_NS_DMA_BUF "DMA_BUF"
#else
#define VMC_NS_DMA_BUF DMA_BUF
#endif

/*
 * 6.8, include/media/videobuf2-core.h: the buffer count is read with
 * vb2_get_num_buffers(); q->num_buffers is gone.
 */
static inline unsigned int vmc_vb2_count(struct vb2_queue *q)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
	return vb2_get_num_buffers(q);
#else
	return q->num_buffers;
#endif
}

/*
 * vb2 must drop the queue lock (vlock) while DQBUF sleeps.
 * - Up to 6.12 that takes the wait_prepare/wait_finish ops
 *   (vb2_ops_wait_prepare/finish unlock and relock vb2_queue.lock).
 * - 6.13, drivers/media/common/videobuf2/videobuf2-core.c (commit
 *   88785982a19d, "media: vb2: use lock if wait_prepare/finish are NULL"):
 *   the core does the same itself when the ops are NULL and
 *   vb2_queue.lock is set.
 * - 7.0, include/media/videobuf2-core.h (commit b70886ff5833, "media: vb2:
 *   drop wait_prepare/finish callbacks", and d0730006dac2, which removes the
 *   helpers): the ops and helpers are gone, and vb2_queue_init() refuses a
 *   queue without a lock.
 * Either way vlock is released during the wait.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
#define VMC_VB2_WAIT_OPS \
	.wait_prepare = vb2_ops_wait_prepare, \
	.wait_finish = vb2_ops_wait_finish,
#else
#define VMC_VB2_WAIT_OPS
#endif

/*
 * 6.18, include/media/v4l2-fh.h ("media: Set file->private_data in
 * v4l2_fh_add()", "media: Reset file->private_data to NULL in
 * v4l2_fh_del()"): both take the struct file and maintain
 * file->private_data themselves. The older kernels get the same two steps
 * here.
 */
static inline void vmc_fh_add(struct v4l2_fh *fh, struct file *file)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 18, 0)
	v4l2_fh_add(fh, file);
#else
	file->private_data = fh;
	v4l2_fh_add(fh);
#endif
}

static inline void vmc_fh_del(struct v4l2_fh *fh, struct file *file)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 18, 0)
	v4l2_fh_del(fh, file);
#else
	v4l2_fh_del(fh);
	file->private_data = NULL;
#endif
}

/*
 * 6.11, include/linux/virtio_config.h: virtio_find_vqs() takes an array of
 * struct virtqueue_info instead of parallel callback and name arrays.
 */
static inline int vmc_compat_find_vqs(struct virtio_device *vdev,
				      struct virtqueue *vqs[2],
				      vq_callback_t *cmdq_done,
				      vq_callback_t *evtq_done)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
	struct virtqueue_info info[2] = {
		{ .name = "commandq", .callback = cmdq_done },
		{ .name = "eventq", .callback = evtq_done },
	};

	return virtio_find_vqs(vdev, 2, vqs, info, NULL);
#else
	vq_callback_t *callbacks[2] = { cmdq_done, evtq_done };
	static const char * const names[2] = { "commandq", "eventq" };

	return virtio_find_vqs(vdev, 2, vqs, callbacks, names, NULL);
#endif
}

/*
 * 6.15, include/media/v4l2-ioctl.h (media pull for 6.15: "media: v4l2:
 * Remove vidioc_queryctrl callback", after "media: ioctl: Simulate
 * v4l2_queryctrl with v4l2_query_ext_ctrl"): the vidioc_queryctrl op is
 * gone and the core answers QUERYCTRL from vidioc_query_ext_ctrl. Before,
 * the output node's vmc_queryctrl() does that same conversion itself, so
 * the device sees QUERY_EXT_CTRL on every kernel.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 15, 0)
#define VMC_HAVE_QUERYCTRL_OP 1
#define VMC_QUERYCTRL_OP .vidioc_queryctrl = vmc_queryctrl,
#else
#define VMC_HAVE_QUERYCTRL_OP 0
#define VMC_QUERYCTRL_OP
#endif

/*
 * 6.18, include/linux/mm.h (series "mm: remove nth_page()"): nth_page() is
 * gone. The driver walks the pages of an SG entry by page frame number
 * instead, which is right on every kernel whatever the memory model.
 */
static inline struct page *vmc_page_at(struct page *first, unsigned long n)
{
	return pfn_to_page(page_to_pfn(first) + n);
}

#endif /* VMC_COMPAT_H */
