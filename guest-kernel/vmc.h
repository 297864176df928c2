/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Spectrum Camera: virtio-media capture and output driver, shared
 * definitions.
 *
 * Locking (outermost first):
 *   vlock      mutex: every V4L2 ioctl (video_device.lock and vb2_queue.lock),
 *              release() and the buffer part of remove(). Also guards
 *              dev->cur, the format cache and the queue_setup bookkeeping.
 *   cmd_lock   mutex: one waited-for command at a time. Taken killably and
 *              held until the answer, the timeout or a fatal signal. CLOSE
 *              is sent without it and never waited for.
 *   cmdq_lock  spinlock (irq): the commandq virtqueue, dev->removed,
 *              dev->broken, dev->detached and the command flags.
 *   evtq_lock  spinlock (irq): the eventq virtqueue.
 *   sess_lock  spinlock: the session list and session->dead. An output
 *              node's control events are queued to a session's file under
 *              it, so the V4L2 core's fh_lock nests inside.
 *   qlock      spinlock: the device-side queue state (queued[], the pending
 *              and early lists, orphans, q_* fields). Taken after sess_lock.
 * The event worker takes only spinlocks and never sends commands.
 */
#ifndef VMC_H
#define VMC_H

#include <linux/completion.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/virtio.h>
#include <linux/workqueue.h>
#include <media/v4l2-device.h>
#include <media/v4l2-dev.h>
#include <media/v4l2-fh.h>
#include <media/videobuf2-v4l2.h>

#include "protocol.h"
#include "vmc_compat.h"

#if !defined(CONFIG_64BIT) || defined(__BIG_ENDIAN)
#error "virtio-media payloads use the 64-bit little-endian V4L2 layout"
#endif

#define VMC_DRIVER_NAME		"virtio_media_camera"
/*
 * QUERYCAP's driver field holds 15 characters: the module name would be cut to
 * "virtio_media_ca".
 */
#define VMC_CAP_DRIVER_NAME	"spectrum-camera"

/* Limits of this driver and of the Spectrum Camera device. */
#define VMC_MAX_BUFFERS		32		/* VB2_MAX_FRAME, device maximum */
#define VMC_MAX_FORMATS		16
#define VMC_MAX_DIM		8192
#define VMC_MAX_BUFFER_LEN	(64u << 20)	/* device accepts up to 64 MiB */
#define VMC_MAX_SG_ENTRIES	16384		/* device accepts up to 16384 */
#define VMC_NUM_EVENT_BUFS	16
#define VMC_CMD_TIMEOUT		(5 * HZ)
#define VMC_COOKIE_BASE		0x5643000000000000ULL	/* opaque m.userptr */
/*
 * write() on an output node: the buffers vb2's write emulation gets (it
 * would take one), which G_PARM reports as writebuffers.
 */
#define VMC_WRITE_BUFFERS	3
/*
 * Most controls one G/S/TRY_EXT_CTRLS forwards (the V4L2 core allows 1024;
 * the Spectrum Camera device takes 32), which bounds the command's memory.
 */
#define VMC_MAX_EXT_CTRLS	256

struct vmc_device;

/*
 * One command: a device-readable request and an optional device-writable
 * response, both owned by the command. The virtqueue holds its own reference
 * while the chain is on the ring, so a caller that timed out or was killed
 * can drop its reference: the memory stays valid until the device returns
 * the chain or is reset. A command nobody waits for (CLOSE, or one whose
 * waiter left) is "detached": when it comes back, dev->detached_work
 * finishes it in process context.
 */
struct vmc_cmd {
	struct kref ref;
	struct completion done;
	struct list_head reap;		/* callback/drain lists, dev->detached */
	void *req;			/* kvmalloc'd */
	size_t req_len;
	void *resp;			/* kmalloc'd, NULL for no writable part */
	size_t resp_len;
	u32 used;			/* used length reported by the device */
	int xfer_err;			/* -ENODEV when detached unused */
	/* Under cmdq_lock. */
	bool returned;			/* the device gave the chain back */
	bool detached;			/* no waiter any more */
	/* CLOSE: the closed session, whose orphans the device then forgot. */
	u64 close_owner;
};

/*
 * Guest memory of one prepared buffer: the SG list sent to the device, and
 * references that keep the memory alive for as long as the device may write
 * it (page references, or a dma-buf reference for imported buffers).
 */
struct vmc_mem {
	struct kref ref;
	u32 length;			/* v4l2_buffer.length sent to the device */
	unsigned int nsg;
	struct virtio_media_sg_entry *sgl;	/* kvmalloc'd */
	struct dma_buf *dbuf;
	unsigned int npages;
	struct page **pages;		/* kvmalloc'd */
};

/*
 * A reference the device holds on a buffer's memory: taken when QBUF is sent,
 * dropped when the device gives the buffer back (EVT_DQBUF, STREAMOFF,
 * REQBUFS(0), CLOSE, device reset). If the device may still own the buffer
 * after the driver returned it to vb2 (failed STREAMOFF, dead session), the
 * reference is parked on dev->orphans until one of those happens.
 */
struct vmc_devref {
	struct list_head node;
	u64 owner;			/* vmc_session.serial */
	struct vmc_mem *mem;
};

struct vmc_buffer {
	struct vb2_v4l2_buffer vb;	/* must be first */
	struct list_head list;		/* dev->pending or dev->early */
	struct vmc_mem *mem;		/* from buf_prepare, the buffer's ref */
	struct vmc_devref *devref;	/* while owned by the device */
	/* A completion that arrived before start_streaming() finished. */
	u32 e_bytesused;
	u32 e_sequence;
	u64 e_timestamp;
	enum vb2_buffer_state e_state;
};

struct vmc_session {
	struct v4l2_fh fh;		/* file->private_data points here */
	struct vmc_device *dev;
	struct list_head node;		/* dev->sessions, under sess_lock */
	u32 id;				/* the device's id; reused after CLOSE */
	u64 serial;			/* never reused; tags device references */
	bool dead;			/* EVT_ERROR seen; under sess_lock */
	bool closing;			/* in release(): CLOSE follows; vlock */
};

struct vmc_device {
	struct virtio_device *vdev;	/* referenced until the last close */
	struct device *dma_dev;		/* vdev's parent, referenced */
	struct virtqueue *cmdq;
	struct virtqueue *evtq;
	spinlock_t cmdq_lock;		/* commandq virtqueue, removed */
	spinlock_t evtq_lock;		/* eventq virtqueue */
	struct mutex cmd_lock;		/* one waited-for command at a time */
	bool removed;			/* set under cmdq_lock, evtq_lock, qlock */
	/*
	 * A command timed out: the device is not answering, so every later
	 * command fails at once with EIO until the device is reset (driver
	 * reload, or unbind and bind). Under cmdq_lock.
	 */
	bool broken;
	struct list_head detached;	/* returned detached commands */
	struct work_struct detached_work;

	void *evbufs[VMC_NUM_EVENT_BUFS];
	struct work_struct event_work;

	struct v4l2_device v4l2_dev;
	struct video_device video;
	struct vb2_queue queue;
	struct mutex vlock;		/* ioctls, release, queue */

	/*
	 * The role the device's config chose, fixed at probe: a capture node
	 * (frames from the device) or an output node (frames to the device).
	 */
	bool output;
	u32 buf_type;			/* V4L2_BUF_TYPE_VIDEO_CAPTURE or _OUTPUT */
	u32 device_caps;
	char card[32];
	char bus_info[32];

	spinlock_t sess_lock;		/* sessions, session->dead */
	struct list_head sessions;
	u64 next_serial;		/* under sess_lock */

	/* Under vlock. */
	u32 fmts[VMC_MAX_FORMATS];	/* pixel formats ENUM_FMT reported */
	unsigned int nfmts;
	bool fmts_complete;
	struct vmc_session *cur;	/* session running a vb2 operation */
	unsigned int setup_calls;	/* queue_setup calls in this operation */
	u32 setup_size;			/* plane size chosen by queue_setup */
	u32 setup_sizeimage;		/* the format's sizeimage at queue_setup */

	/* Device-side queue state, under qlock. */
	spinlock_t qlock;		/* everything below */
	bool q_alloc;			/* device may hold buffers for q_sid */
	u32 q_sid;
	u32 q_count;			/* buffers the device granted */
	bool q_started;			/* start_streaming() completed */
	bool q_seq_valid;		/* q_last_seq holds this stream's last */
	u32 q_last_seq;			/* sequence of the last EVT_DQBUF taken */
	struct vmc_buffer *queued[VMC_MAX_BUFFERS];	/* owned by device */
	struct list_head pending;	/* given by vb2 before start_streaming */
	struct list_head early;		/* completed before start finished */
	struct list_head orphans;	/* struct vmc_devref */
};

static inline struct vmc_session *vmc_file_session(struct file *file)
{
	return container_of(file->private_data, struct vmc_session, fh);
}

static inline struct vmc_buffer *vmc_to_buffer(struct vb2_buffer *vb)
{
	return container_of(to_vb2_v4l2_buffer(vb), struct vmc_buffer, vb);
}

/* Rate-limited logs on the virtio device (referenced until the last close). */
#define vmc_err(vmcdev, fmt, ...) \
	dev_err_ratelimited(&(vmcdev)->vdev->dev, fmt, ##__VA_ARGS__)
#define vmc_warn(vmcdev, fmt, ...) \
	dev_warn_ratelimited(&(vmcdev)->vdev->dev, fmt, ##__VA_ARGS__)

/* vmc_virtio.c: commands */
struct vmc_cmd *vmc_cmd_alloc(size_t req_len, size_t resp_len);
void vmc_cmd_put(struct vmc_cmd *cmd);
int vmc_cmd_exec(struct vmc_device *dev, struct vmc_cmd *cmd);
int vmc_cmd_send_detached(struct vmc_device *dev, struct vmc_cmd *cmd);
int vmc_cmd_status(struct vmc_device *dev, struct vmc_cmd *cmd, size_t need,
		   const char *what);
bool vmc_is_removed(struct vmc_device *dev);
void vmc_detached_work(struct work_struct *work);

/*
 * True when a failed command may still have reached the device, which then
 * may act on it later: it timed out, or its waiter was killed.
 */
static inline bool vmc_cmd_maybe_sent(int err)
{
	return err == -ETIMEDOUT || err == -EINTR;
}

/* vmc_event.c: eventq */
int vmc_event_init(struct vmc_device *dev);
void vmc_event_kick(struct vmc_device *dev);
void vmc_event_free(struct vmc_device *dev);
void vmc_event_flush(struct vmc_device *dev);
void vmc_evtq_done(struct virtqueue *vq);
void vmc_event_work(struct work_struct *work);

/* vmc_v4l2.c: sessions, file and ioctl operations */
extern const struct v4l2_file_operations vmc_capture_fops;
extern const struct v4l2_file_operations vmc_output_fops;
extern const struct v4l2_ioctl_ops vmc_capture_ioctl_ops;
extern const struct v4l2_ioctl_ops vmc_output_ioctl_ops;
int vmc_ioctl(struct vmc_session *s, unsigned int nr, const void *in,
	      size_t in_len, void *out, size_t out_len);
int vmc_ioctl_full(struct vmc_session *s, unsigned int nr, const void *in,
		   size_t in_len, void *out, size_t out_len, bool *err_payload);
int vmc_get_format(struct vmc_session *s, struct v4l2_format *f);
bool vmc_session_dead(struct vmc_session *s);
void vmc_session_close(struct vmc_device *dev, u32 id, u64 owner);
void vmc_detached_done(struct vmc_device *dev, struct vmc_cmd *cmd);

/* vmc_vb2.c: buffers */
int vmc_queue_init(struct vmc_device *dev);
int vmc_vidioc_reqbufs(struct file *file, void *priv,
		       struct v4l2_requestbuffers *rb);
int vmc_vidioc_create_bufs(struct file *file, void *priv,
			   struct v4l2_create_buffers *cb);
int vmc_vidioc_prepare_buf(struct file *file, void *priv,
			   struct v4l2_buffer *b);
int vmc_vidioc_querybuf(struct file *file, void *priv, struct v4l2_buffer *b);
int vmc_vidioc_qbuf(struct file *file, void *priv, struct v4l2_buffer *b);
int vmc_vidioc_dqbuf(struct file *file, void *priv, struct v4l2_buffer *b);
int vmc_vidioc_expbuf(struct file *file, void *priv,
		      struct v4l2_exportbuffer *eb);
int vmc_vidioc_streamon(struct file *file, void *priv, enum v4l2_buf_type t);
int vmc_vidioc_streamoff(struct file *file, void *priv, enum v4l2_buf_type t);
ssize_t vmc_write(struct file *file, const char __user *buf, size_t count,
		  loff_t *ppos);
__poll_t vmc_output_poll(struct file *file, poll_table *wait);
void vmc_queue_session_gone(struct vmc_device *dev, u32 sid);
void vmc_queue_kill(struct vmc_device *dev);
void vmc_queue_fail(struct vmc_device *dev);
void vmc_queue_session_error(struct vmc_device *dev, u32 sid);
void vmc_queue_dqbuf_event(struct vmc_device *dev,
			   const struct virtio_media_event_dqbuf *ev);
void vmc_release_orphans(struct vmc_device *dev, bool all, u64 owner);

/* vmc_ctrl.c: the output node's controls and control events */
int vmc_query_ext_ctrl(struct file *file, void *priv,
		       struct v4l2_query_ext_ctrl *qec);
int vmc_queryctrl(struct file *file, void *priv, struct v4l2_queryctrl *qc);
int vmc_g_ext_ctrls(struct file *file, void *priv,
		    struct v4l2_ext_controls *ctrls);
int vmc_s_ext_ctrls(struct file *file, void *priv,
		    struct v4l2_ext_controls *ctrls);
int vmc_try_ext_ctrls(struct file *file, void *priv,
		      struct v4l2_ext_controls *ctrls);
int vmc_subscribe_event(struct v4l2_fh *fh,
			const struct v4l2_event_subscription *sub);
int vmc_unsubscribe_event(struct v4l2_fh *fh,
			  const struct v4l2_event_subscription *sub);
void vmc_ctrl_event(struct vmc_device *dev, u32 sid, const void *buf);

#endif /* VMC_H */
