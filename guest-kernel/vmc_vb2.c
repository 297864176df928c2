// SPDX-License-Identifier: GPL-2.0
/*
 * Spectrum Camera: virtio-media capture and output driver.
 * The videobuf2 queue and the device-side buffer protocol.
 *
 * User space sees an ordinary vb2 queue (MMAP, USERPTR, DMABUF, EXPBUF; on
 * an output node also write()) whose memory videobuf2-dma-sg allocates, pins
 * or imports in guest RAM. The device only ever sees V4L2_MEMORY_USERPTR
 * buffers: every QBUF carries the buffer's guest-physical SG list, and the
 * device answers with EVT_DQBUF once it wrote a frame into it (capture) or
 * read the frame out of it (output: QBUF carries bytesused, which must be
 * the format's sizeimage).
 */

#include <linux/dma-buf.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <media/v4l2-ioctl.h>
#include <media/videobuf2-dma-sg.h>

#include "vmc.h"

MODULE_IMPORT_NS(VMC_NS_DMA_BUF);

/* ---- buffer memory ------------------------------------------------------- */

static void vmc_mem_release(struct kref *ref)
{
	struct vmc_mem *mem = container_of(ref, struct vmc_mem, ref);
	unsigned int i;

	if (mem->dbuf)
		dma_buf_put(mem->dbuf);
	for (i = 0; i < mem->npages; i++)
		put_page(mem->pages[i]);
	kvfree(mem->pages);
	kvfree(mem->sgl);
	kfree(mem);
}

/* Process context only, no spinlock held (may free vmalloc'd arrays). */
static void vmc_mem_put(struct vmc_mem *mem)
{
	if (mem)
		kref_put(&mem->ref, vmc_mem_release);
}

/* Frees device references collected under qlock; process context. */
static void vmc_devrefs_free(struct list_head *list)
{
	struct vmc_devref *ref, *tmp;

	list_for_each_entry_safe(ref, tmp, list, node) {
		list_del(&ref->node);
		vmc_mem_put(ref->mem);
		kfree(ref);
	}
}

/*
 * The device is done with the buffers it held for session @owner (a serial,
 * never reused, so a later session that got the same device id is not
 * affected), or with every buffer (@all).
 */
void vmc_release_orphans(struct vmc_device *dev, bool all, u64 owner)
{
	struct vmc_devref *ref, *tmp;
	LIST_HEAD(release);

	spin_lock(&dev->qlock);
	list_for_each_entry_safe(ref, tmp, &dev->orphans, node)
		if (all || ref->owner == owner)
			list_move_tail(&ref->node, &release);
	spin_unlock(&dev->qlock);
	vmc_devrefs_free(&release);
}

/* One step of the SG walk: the part of @sg that lies within the buffer. */
static u32 vmc_sg_take(struct scatterlist *sg, u64 left)
{
	return (u32)min_t(u64, sg->length, left);
}

/*
 * Builds the guest-physical SG list of plane 0, covering exactly @length
 * bytes, and takes references that keep the memory alive while the device
 * may write it. Adjacent physically contiguous entries are merged.
 */
static int vmc_mem_build(struct vmc_device *dev, struct vb2_buffer *vb,
			 u32 length, struct vmc_mem **out)
{
	struct sg_table *sgt = vb2_dma_sg_plane_desc(vb, 0);
	bool dmabuf = vb->memory == VB2_MEMORY_DMABUF;
	struct virtio_media_sg_entry *e = NULL;
	unsigned int i, j, nsg = 0, npages = 0, span;
	struct scatterlist *sg;
	struct vmc_mem *mem;
	phys_addr_t end = 0;
	u64 left, cur = 0;
	u32 len;

	if (!sgt)
		return -EINVAL;
#if IS_ENABLED(CONFIG_DMABUF_DEBUG)
	/* Importers see mangled page pointers with this option. */
	if (dmabuf)
		return -EOPNOTSUPP;
#endif

	/* Pass 1: count entries and pages, check every page is real. */
	left = length;
	for_each_sgtable_sg(sgt, sg, i) {
		if (!left)
			break;
		len = vmc_sg_take(sg, left);
		if (!len)
			continue;
		if (!sg_page(sg))
			return -EINVAL;
		if (!nsg || sg_phys(sg) != end || cur + len > U32_MAX) {
			nsg++;
			cur = 0;
		}
		cur += len;
		end = sg_phys(sg) + len;
		npages += DIV_ROUND_UP(offset_in_page(sg->offset) + len,
				       PAGE_SIZE);
		left -= len;
	}
	if (left || !nsg) {
		vmc_err(dev, "buffer %u: memory shorter than %u bytes\n",
			vb->index, length);
		return -EINVAL;
	}
	if (nsg > VMC_MAX_SG_ENTRIES) {
		vmc_err(dev, "buffer %u: %u SG entries, the device takes %u\n",
			vb->index, nsg, VMC_MAX_SG_ENTRIES);
		return -EINVAL;
	}

	mem = kzalloc(sizeof(*mem), GFP_KERNEL);
	if (!mem)
		return -ENOMEM;
	kref_init(&mem->ref);
	mem->length = length;
	mem->nsg = nsg;
	mem->sgl = kvcalloc(nsg, sizeof(*mem->sgl), GFP_KERNEL);
	if (!mem->sgl)
		goto nomem;
	if (!dmabuf) {
		mem->pages = kvcalloc(npages, sizeof(*mem->pages), GFP_KERNEL);
		if (!mem->pages)
			goto nomem;
	}

	/* Pass 2: fill the list and take the references. */
	left = length;
	nsg = 0;
	for_each_sgtable_sg(sgt, sg, i) {
		if (!left)
			break;
		len = vmc_sg_take(sg, left);
		if (!len)
			continue;
		if (e && sg_phys(sg) == end &&
		    (u64)le32_to_cpu(e->len) + len <= U32_MAX) {
			le32_add_cpu(&e->len, len);
		} else {
			e = &mem->sgl[nsg++];
			e->start = cpu_to_le64(sg_phys(sg));
			e->len = cpu_to_le32(len);
		}
		end = sg_phys(sg) + len;
		if (!dmabuf) {
			span = DIV_ROUND_UP(offset_in_page(sg->offset) + len,
					    PAGE_SIZE);
			for (j = 0; j < span; j++) {
				struct page *p = vmc_page_at(sg_page(sg),
						(sg->offset >> PAGE_SHIFT) + j);

				get_page(p);
				mem->pages[mem->npages++] = p;
			}
		}
		left -= len;
	}
	if (dmabuf) {
		mem->dbuf = vb->planes[0].dbuf;
		get_dma_buf(mem->dbuf);
	}
	*out = mem;
	return 0;

nomem:
	vmc_mem_put(mem);
	return -ENOMEM;
}

/* ---- device commands ------------------------------------------------------ */

static void vmc_q_mark_unknown(struct vmc_device *dev, u32 sid)
{
	/* The device may now hold buffers for @sid: resync frees them. */
	spin_lock(&dev->qlock);
	dev->q_alloc = true;
	dev->q_sid = sid;
	spin_unlock(&dev->qlock);
}

/* Device REQBUFS(@count, USERPTR); *granted is what the device allocated. */
static int vmc_dev_reqbufs(struct vmc_session *s, u32 count, u32 *granted)
{
	struct vmc_device *dev = s->dev;
	struct vmc_wire_requestbuffers req = {
		.count = cpu_to_le32(count),
		.type = cpu_to_le32(dev->buf_type),
		.memory = cpu_to_le32(V4L2_MEMORY_USERPTR),
	};
	struct vmc_wire_requestbuffers ans;
	u32 n;
	int ret;

	ret = vmc_ioctl(s, _IOC_NR(VIDIOC_REQBUFS), &req, sizeof(req),
			&ans, sizeof(ans));
	if (vmc_cmd_maybe_sent(ret) || ret == -EIO)
		vmc_q_mark_unknown(dev, s->id);
	if (ret)
		return ret;
	n = le32_to_cpu(ans.count);
	if (n > count || n > VMC_MAX_BUFFERS ||
	    le32_to_cpu(ans.type) != dev->buf_type ||
	    le32_to_cpu(ans.memory) != V4L2_MEMORY_USERPTR) {
		vmc_err(dev, "REQBUFS(%u): invalid answer (count %u)\n", count,
			n);
		vmc_q_mark_unknown(dev, s->id);
		return -EIO;
	}

	spin_lock(&dev->qlock);
	dev->q_alloc = n > 0;
	dev->q_sid = s->id;
	dev->q_count = n;
	spin_unlock(&dev->qlock);
	/* The device dropped every buffer it had for this session. */
	vmc_release_orphans(dev, false, s->serial);
	*granted = n;
	return 0;
}

static int vmc_dev_reqbufs0(struct vmc_device *dev, struct vmc_session *s)
{
	u32 granted;

	return vmc_dev_reqbufs(s, 0, &granted);
}

/*
 * Makes the device hold at least @have + *@n buffers with CREATE_BUFS.
 * *@n may come back smaller if the device granted fewer.
 */
static int vmc_dev_create_bufs(struct vmc_session *s,
			       const struct v4l2_format *fmt, u32 size,
			       unsigned int have, unsigned int *n)
{
	struct vmc_device *dev = s->dev;
	struct vmc_wire_create_buffers req = {
		.memory = cpu_to_le32(V4L2_MEMORY_USERPTR),
	};
	struct vmc_wire_create_buffers ans;
	struct v4l2_format f = *fmt;
	u32 cur, need = have + *n, idx, got;
	int ret;

	spin_lock(&dev->qlock);
	cur = (dev->q_alloc && dev->q_sid == s->id) ? dev->q_count : 0;
	spin_unlock(&dev->qlock);
	if (cur >= need)
		return 0;

	req.count = cpu_to_le32(need - cur);
	f.fmt.pix.sizeimage = size;
	memcpy(req.format, &f, sizeof(req.format));
	ret = vmc_ioctl(s, _IOC_NR(VIDIOC_CREATE_BUFS), &req, sizeof(req),
			&ans, sizeof(ans));
	if (vmc_cmd_maybe_sent(ret) || ret == -EIO)
		vmc_q_mark_unknown(dev, s->id);
	if (ret)
		return ret;
	idx = le32_to_cpu(ans.index);
	got = le32_to_cpu(ans.count);
	if (idx != cur || got > need - cur || idx + got > VMC_MAX_BUFFERS ||
	    le32_to_cpu(ans.memory) != V4L2_MEMORY_USERPTR) {
		vmc_err(dev, "CREATE_BUFS(%u): invalid answer (index %u, count %u, expected index %u)\n",
			need - cur, idx, got, cur);
		vmc_q_mark_unknown(dev, s->id);
		return -EIO;
	}

	spin_lock(&dev->qlock);
	dev->q_alloc = cur + got > 0;
	dev->q_sid = s->id;
	dev->q_count = cur + got;
	spin_unlock(&dev->qlock);

	if (cur + got < need) {
		if (cur + got <= have)
			return -ENOMEM;
		*n = cur + got - have;
	}
	return 0;
}

static int vmc_dev_stream(struct vmc_session *s, bool on)
{
	__le32 type = cpu_to_le32(s->dev->buf_type);

	return vmc_ioctl(s, on ? _IOC_NR(VIDIOC_STREAMON) :
			 _IOC_NR(VIDIOC_STREAMOFF), &type, sizeof(type),
			 NULL, 0);
}

/*
 * Sends QBUF for @buf, which the caller has put in dev->queued[] with a
 * device reference (an EVT_DQBUF may complete it before the answer comes).
 * Returns 0 when the device took the buffer. On error *@maybe tells whether
 * the device may still own it (timeout, killed waiter, unreadable answer).
 */
static int vmc_send_qbuf(struct vmc_device *dev, struct vmc_session *s,
			 struct vmc_buffer *buf, struct vmc_mem *mem,
			 bool *maybe)
{
	const size_t resp_hdr = sizeof(struct virtio_media_resp_ioctl);
	u32 index = buf->vb.vb2_buf.index;
	struct virtio_media_cmd_ioctl *req;
	const struct virtio_media_resp_header *rh;
	const struct vmc_wire_buffer *ab;
	struct vmc_wire_buffer *wb;
	struct vmc_cmd *cmd;
	u32 status;
	int ret;

	*maybe = false;
	if (vmc_session_dead(s))
		return -EIO;
	cmd = vmc_cmd_alloc(sizeof(*req) + sizeof(*wb) +
			    mem->nsg * sizeof(*mem->sgl),
			    resp_hdr + sizeof(*wb));
	if (!cmd)
		return -ENOMEM;
	req = cmd->req;
	req->hdr.cmd = cpu_to_le32(VIRTIO_MEDIA_CMD_IOCTL);
	req->session_id = cpu_to_le32(s->id);
	req->code = cpu_to_le32(_IOC_NR(VIDIOC_QBUF));
	wb = (struct vmc_wire_buffer *)(req + 1);
	wb->index = cpu_to_le32(index);
	wb->type = cpu_to_le32(dev->buf_type);
	/* An output frame's size; buf_prepare checked it is sizeimage. */
	if (dev->output)
		wb->bytesused = cpu_to_le32(vb2_get_plane_payload(&buf->vb.vb2_buf,
								  0));
	wb->field = cpu_to_le32(V4L2_FIELD_NONE);
	wb->memory = cpu_to_le32(V4L2_MEMORY_USERPTR);
	wb->m = cpu_to_le64(VMC_COOKIE_BASE + index + 1);
	wb->length = cpu_to_le32(mem->length);
	memcpy(wb + 1, mem->sgl, mem->nsg * sizeof(*mem->sgl));

	ret = vmc_cmd_exec(dev, cmd);
	if (ret) {
		*maybe = vmc_cmd_maybe_sent(ret);
		goto out;
	}
	rh = cmd->resp;
	status = cmd->used >= sizeof(*rh) && cmd->used <= cmd->resp_len ?
		 le32_to_cpu(rh->status) : 0;
	ret = vmc_cmd_status(dev, cmd, resp_hdr + sizeof(*wb), "QBUF");
	if (ret) {
		/* Only a plain errno means the device refused the buffer. */
		*maybe = !status || status >= 512;
		goto out;
	}
	ab = (const struct vmc_wire_buffer *)((u8 *)cmd->resp + resp_hdr);
	if (le32_to_cpu(ab->index) != index ||
	    le32_to_cpu(ab->type) != dev->buf_type ||
	    le32_to_cpu(ab->memory) != V4L2_MEMORY_USERPTR) {
		vmc_err(dev, "QBUF %u: invalid answer (index %u)\n", index,
			le32_to_cpu(ab->index));
		*maybe = true;
		ret = -EIO;
	}
out:
	vmc_cmd_put(cmd);
	return ret;
}

/* ---- returning buffers ---------------------------------------------------- */

/*
 * Under qlock: hands @buf back to vb2. Its device reference goes to
 * @release (device done with it) or to the orphans (device may still write).
 */
static void vmc_buf_return_locked(struct vmc_device *dev,
				  struct vmc_buffer *buf,
				  enum vb2_buffer_state state,
				  struct list_head *release, bool orphan)
{
	struct vmc_devref *ref = buf->devref;

	buf->devref = NULL;
	if (ref)
		list_add_tail(&ref->node, orphan ? &dev->orphans : release);
	vb2_buffer_done(&buf->vb.vb2_buf, state);
}

/* Under qlock: every buffer the driver holds goes back to vb2. */
static void vmc_return_all_locked(struct vmc_device *dev,
				  enum vb2_buffer_state state,
				  struct list_head *release, bool orphan)
{
	struct vmc_buffer *buf, *tmp;
	unsigned int i;

	for (i = 0; i < VMC_MAX_BUFFERS; i++) {
		buf = dev->queued[i];
		if (!buf)
			continue;
		dev->queued[i] = NULL;
		vmc_buf_return_locked(dev, buf, state, release, orphan);
	}
	list_for_each_entry_safe(buf, tmp, &dev->early, list) {
		list_del_init(&buf->list);
		vmc_buf_return_locked(dev, buf, state, release, orphan);
	}
	list_for_each_entry_safe(buf, tmp, &dev->pending, list) {
		list_del_init(&buf->list);
		vmc_buf_return_locked(dev, buf, state, release, orphan);
	}
}

static void vmc_buf_complete(struct vmc_device *dev, struct vmc_buffer *buf)
{
	struct vb2_v4l2_buffer *vbuf = &buf->vb;

	vbuf->vb2_buf.timestamp = buf->e_timestamp;
	vbuf->sequence = buf->e_sequence;
	vbuf->field = V4L2_FIELD_NONE;
	/* An output buffer keeps the bytesused its producer queued it with. */
	if (!dev->output)
		vb2_set_plane_payload(&vbuf->vb2_buf, 0, buf->e_bytesused);
	vb2_buffer_done(&vbuf->vb2_buf, buf->e_state);
}

/* EVT_DQBUF from the event worker: validate, then complete the buffer. */
void vmc_queue_dqbuf_event(struct vmc_device *dev,
			   const struct virtio_media_event_dqbuf *ev)
{
	const struct vmc_wire_buffer *b = &ev->buffer;
	u32 sid = le32_to_cpu(ev->hdr.session_id);
	u32 index = le32_to_cpu(b->index);
	u32 bytesused = le32_to_cpu(b->bytesused);
	u32 flags = le32_to_cpu(b->flags);
	s64 sec = (s64)le64_to_cpu(b->timestamp.tv_sec);
	s64 usec = (s64)le64_to_cpu(b->timestamp.tv_usec);
	struct vmc_devref *ref;
	struct vmc_buffer *buf;
	const char *bad = NULL;
	LIST_HEAD(release);
	u32 seq;

	if (le32_to_cpu(b->type) != dev->buf_type ||
	    le32_to_cpu(b->memory) != V4L2_MEMORY_USERPTR) {
		vmc_err(dev, "EVT_DQBUF with type %u memory %u dropped\n",
			le32_to_cpu(b->type), le32_to_cpu(b->memory));
		return;
	}

	spin_lock(&dev->qlock);
	if (!dev->q_alloc || dev->q_sid != sid) {
		spin_unlock(&dev->qlock);
		vmc_warn(dev, "EVT_DQBUF for session %u, which owns no buffers, dropped\n",
			 sid);
		return;
	}
	if (index >= dev->q_count || index >= VMC_MAX_BUFFERS) {
		spin_unlock(&dev->qlock);
		vmc_err(dev, "EVT_DQBUF for buffer %u of %u dropped\n", index,
			dev->q_count);
		return;
	}
	buf = dev->queued[index];
	ref = buf ? buf->devref : NULL;
	if (!buf || !ref) {
		spin_unlock(&dev->qlock);
		vmc_warn(dev, "EVT_DQBUF for buffer %u, which is not queued, dropped\n",
			 index);
		return;
	}
	/*
	 * The device numbers the frames of a stream in increasing order. An
	 * event that does not move forward is a stale duplicate: taking it
	 * would hand the application a buffer the device still owns (and will
	 * write), and make the device refuse it when it is queued again.
	 */
	seq = le32_to_cpu(b->sequence);
	if (dev->q_seq_valid && (s32)(seq - dev->q_last_seq) <= 0) {
		spin_unlock(&dev->qlock);
		vmc_err(dev, "EVT_DQBUF for buffer %u with stale sequence %u (last %u) dropped\n",
			index, seq, dev->q_last_seq);
		return;
	}
	dev->q_seq_valid = true;
	dev->q_last_seq = seq;

	if (bytesused > ref->mem->length)
		bad = "bytesused exceeds the buffer";
	else if (le32_to_cpu(b->field) != V4L2_FIELD_NONE)
		bad = "field is not NONE";
	else if ((flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) !=
		 V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC)
		bad = "timestamp is not monotonic";
	else if (sec < 0 || sec >= KTIME_SEC_MAX || usec < 0 ||
		 usec >= USEC_PER_SEC)
		bad = "invalid timestamp";
	else if (!dev->output && !bytesused && !(flags & V4L2_BUF_FLAG_ERROR))
		bad = "no payload";

	/* The device is done with the buffer in every case. */
	dev->queued[index] = NULL;
	buf->devref = NULL;
	list_add_tail(&ref->node, &release);

	buf->e_sequence = seq;
	/*
	 * The device stamps frames with the host's CLOCK_MONOTONIC, a clock the
	 * guest cannot relate to its own. V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC
	 * promises the guest's CLOCK_MONOTONIC (GStreamer and ffmpeg correlate
	 * it with their clocks), so report when the frame reached the guest.
	 * The device's value is still validated above.
	 */
	buf->e_timestamp = bad ? 0 : ktime_get_ns();
	buf->e_bytesused = bad ? 0 : bytesused;
	buf->e_state = bad || (flags & V4L2_BUF_FLAG_ERROR) ?
		       VB2_BUF_STATE_ERROR : VB2_BUF_STATE_DONE;
	if (dev->q_started)
		vmc_buf_complete(dev, buf);
	else
		list_add_tail(&buf->list, &dev->early);	/* start finishes it */
	spin_unlock(&dev->qlock);

	vmc_devrefs_free(&release);
	if (bad)
		vmc_err(dev, "EVT_DQBUF for buffer %u: %s; returned with ERROR\n",
			index, bad);
}

/* EVT_ERROR: the session is dead; its buffers go back with ERROR. */
void vmc_queue_session_error(struct vmc_device *dev, u32 sid)
{
	LIST_HEAD(release);

	spin_lock(&dev->qlock);
	if (dev->q_alloc && dev->q_sid == sid) {
		/*
		 * While start_streaming() runs it owns the buffers and fails
		 * on its own when it sees the dead session.
		 */
		if (dev->q_started)
			vmc_return_all_locked(dev, VB2_BUF_STATE_ERROR,
					      &release, true);
		vb2_queue_error(&dev->queue);
	}
	spin_unlock(&dev->qlock);
	vmc_devrefs_free(&release);
}

/*
 * Session @sid is being closed: the CLOSE that follows frees its buffers on
 * the device. Its orphans are released when the device returns that CLOSE.
 */
void vmc_queue_session_gone(struct vmc_device *dev, u32 sid)
{
	spin_lock(&dev->qlock);
	if (dev->q_sid == sid) {
		dev->q_alloc = false;
		dev->q_count = 0;
	}
	spin_unlock(&dev->qlock);
}

/*
 * The device stopped answering: DQBUF and poll waiters get EIO now instead
 * of waiting for frames that will not come. The buffers stay where they
 * are until STREAMOFF, close or the reset.
 */
void vmc_queue_fail(struct vmc_device *dev)
{
	spin_lock(&dev->qlock);
	vb2_queue_error(&dev->queue);
	spin_unlock(&dev->qlock);
}

/* remove(), after the device reset, vlock held: give everything back. */
void vmc_queue_kill(struct vmc_device *dev)
{
	LIST_HEAD(release);

	spin_lock(&dev->qlock);
	vmc_return_all_locked(dev, VB2_BUF_STATE_ERROR, &release, false);
	list_splice_init(&dev->orphans, &release);
	dev->q_alloc = false;
	dev->q_count = 0;
	vb2_queue_error(&dev->queue);
	spin_unlock(&dev->qlock);
	vmc_devrefs_free(&release);
}

/* ---- vb2 operations -------------------------------------------------------- */

/*
 * The session a vb2 operation acts for: the one whose ioctl, write() or
 * poll() runs it (dev->cur), else the queue's owner. vb2 runs the operations
 * only for the owner, or for the session about to become it, which set
 * dev->cur; but write() may wait for a buffer with vlock dropped, and
 * another session's ioctl clears dev->cur meanwhile.
 */
static struct vmc_session *vmc_vb2_session(struct vmc_device *dev)
{
	if (dev->cur)
		return dev->cur;
	if (dev->queue.owner)
		return container_of(dev->queue.owner, struct vmc_session, fh);
	return NULL;
}

static int vmc_queue_setup(struct vb2_queue *q, unsigned int *nbuffers,
			   unsigned int *nplanes, unsigned int sizes[],
			   struct device *alloc_devs[])
{
	struct vmc_device *dev = vb2_get_drv_priv(q);
	struct vmc_session *s = vmc_vb2_session(dev);
	unsigned int have = vmc_vb2_count(q);
	struct v4l2_format fmt;
	u32 size, granted;
	int ret;

	if (!s)
		return -EIO;
	if (dev->setup_calls++) {
		/*
		 * vb2 could allocate fewer buffers than granted and confirms
		 * the smaller count (for REQBUFS with *nplanes reset to 0):
		 * the device already holds at least that many.
		 */
		*nplanes = 1;
		sizes[0] = dev->setup_size;
		return 0;
	}

	ret = vmc_get_format(s, &fmt);
	if (ret)
		return ret;
	size = fmt.fmt.pix.sizeimage;
	/* The device refuses a new format while it holds buffers. */
	dev->setup_sizeimage = size;
	if (*nplanes) {
		/* CREATE_BUFS: the application's size, at least sizeimage. */
		if (*nplanes != 1 || sizes[0] < size)
			return -EINVAL;
		size = sizes[0];
	}
	if (size > VMC_MAX_BUFFER_LEN)
		return -EINVAL;

	if (*nplanes) {
		ret = vmc_dev_create_bufs(s, &fmt, size, have, nbuffers);
	} else {
		/*
		 * vb2's write() emulation asks for one or two buffers: with
		 * more, a writer fills one while the device still holds
		 * another, and keeps the stream's rate.
		 */
		if (vb2_fileio_is_active(q) && *nbuffers < VMC_WRITE_BUFFERS)
			*nbuffers = VMC_WRITE_BUFFERS;
		ret = vmc_dev_reqbufs(s, *nbuffers, &granted);
		if (!ret && !granted)
			ret = -ENOMEM;
		if (!ret)
			*nbuffers = granted;
	}
	if (ret)
		return ret;

	*nplanes = 1;
	sizes[0] = size;
	dev->setup_size = size;
	return 0;
}

static void vmc_buf_drop_mem(struct vmc_buffer *buf)
{
	vmc_mem_put(buf->mem);
	buf->mem = NULL;
}

static int vmc_buf_init(struct vb2_buffer *vb)
{
	struct vmc_buffer *buf = vmc_to_buffer(vb);

	/* vb2 zeroes the structure when it creates the buffer. */
	INIT_LIST_HEAD(&buf->list);
	return 0;
}

static int vmc_buf_prepare(struct vb2_buffer *vb)
{
	struct vmc_device *dev = vb2_get_drv_priv(vb->vb2_queue);
	struct vmc_buffer *buf = vmc_to_buffer(vb);
	unsigned long plane = vb2_plane_size(vb, 0);
	struct vmc_mem *mem;
	u32 length;
	int ret;

	vmc_buf_drop_mem(buf);
	/*
	 * vb2 checked the plane against the size queue_setup asked for. The
	 * device takes at most VMC_MAX_BUFFER_LEN, which sizeimage fits in.
	 */
	length = min_t(unsigned long, plane, VMC_MAX_BUFFER_LEN);
	if (!length)
		return -EINVAL;
	if (dev->output) {
		/*
		 * vb2's write() emulation queues only full buffers, but with
		 * a bytesused of 0 (it never fills in the V4L2 plane that vb2
		 * takes bytesused from): each holds a whole frame, as its
		 * plane is sizeimage.
		 */
		if (vb2_fileio_is_active(vb->vb2_queue) &&
		    !vb2_get_plane_payload(vb, 0))
			vb2_set_plane_payload(vb, 0, plane);
		/*
		 * The device takes an output frame only whole, of exactly the
		 * format's size: refuse anything else at QBUF, where the
		 * producer sees why (vb2 made a bytesused of 0 from QBUF the
		 * whole buffer).
		 */
		if (vb2_get_plane_payload(vb, 0) != dev->setup_sizeimage)
			return -EINVAL;
	}
	ret = vmc_mem_build(dev, vb, length, &mem);
	if (ret)
		return ret;
	buf->mem = mem;
	return 0;
}

/* Output buffers: progressive frames only; ANY means the driver's choice. */
static int vmc_buf_out_validate(struct vb2_buffer *vb)
{
	struct vb2_v4l2_buffer *vbuf = to_vb2_v4l2_buffer(vb);

	if (vbuf->field == V4L2_FIELD_ANY)
		vbuf->field = V4L2_FIELD_NONE;
	return vbuf->field == V4L2_FIELD_NONE ? 0 : -EINVAL;
}

static void vmc_buf_finish(struct vb2_buffer *vb)
{
	/* Not owned by the driver any more: drop the buffer's own reference. */
	vmc_buf_drop_mem(vmc_to_buffer(vb));
}

static void vmc_buf_cleanup(struct vb2_buffer *vb)
{
	vmc_buf_drop_mem(vmc_to_buffer(vb));
}

/* Puts @buf in queued[] with a new device reference. */
static int vmc_buf_give(struct vmc_device *dev, struct vmc_session *s,
			struct vmc_buffer *buf)
{
	struct vmc_devref *ref;

	if (!buf->mem || buf->vb.vb2_buf.index >= VMC_MAX_BUFFERS)
		return -EIO;
	ref = kzalloc(sizeof(*ref), GFP_KERNEL);
	if (!ref)
		return -ENOMEM;
	kref_get(&buf->mem->ref);
	ref->mem = buf->mem;
	ref->owner = s->serial;

	spin_lock(&dev->qlock);
	buf->devref = ref;
	dev->queued[buf->vb.vb2_buf.index] = buf;
	spin_unlock(&dev->qlock);
	return 0;
}

static void vmc_buf_queue(struct vb2_buffer *vb)
{
	struct vmc_device *dev = vb2_get_drv_priv(vb->vb2_queue);
	struct vmc_buffer *buf = vmc_to_buffer(vb);
	struct vmc_session *s = vmc_vb2_session(dev);
	LIST_HEAD(release);
	bool maybe;
	int ret;

	spin_lock(&dev->qlock);
	if (!dev->q_started) {
		/* From vb2_start_streaming(): sent by start_streaming(). */
		list_add_tail(&buf->list, &dev->pending);
		spin_unlock(&dev->qlock);
		return;
	}
	spin_unlock(&dev->qlock);

	if (!s || vmc_session_dead(s) || vmc_is_removed(dev))
		ret = -EIO;
	else
		ret = vmc_buf_give(dev, s, buf);
	if (ret) {
		spin_lock(&dev->qlock);
		vb2_buffer_done(vb, VB2_BUF_STATE_ERROR);
		spin_unlock(&dev->qlock);
		return;
	}

	ret = vmc_send_qbuf(dev, s, buf, buf->mem, &maybe);
	if (!ret || maybe)
		return;	/* the device has it (or may have it) */

	vmc_err(dev, "QBUF %u failed: %d\n", vb->index, ret);
	spin_lock(&dev->qlock);
	if (dev->queued[vb->index] == buf) {
		dev->queued[vb->index] = NULL;
		vmc_buf_return_locked(dev, buf, VB2_BUF_STATE_ERROR, &release,
				      false);
	}
	spin_unlock(&dev->qlock);
	vmc_devrefs_free(&release);
}

static int vmc_start_streaming(struct vb2_queue *q, unsigned int count)
{
	struct vmc_device *dev = vb2_get_drv_priv(q);
	struct vmc_session *s = vmc_vb2_session(dev);
	struct vmc_buffer *buf, *tmp;
	bool sent = false, maybe, forgot;
	LIST_HEAD(todo);
	LIST_HEAD(release);
	int ret = 0;

	spin_lock(&dev->qlock);
	list_splice_init(&dev->pending, &todo);
	dev->q_seq_valid = false;	/* the device numbers a new stream from 0 */
	spin_unlock(&dev->qlock);

	if (!s || vmc_session_dead(s))
		ret = -EIO;
	else if (vmc_is_removed(dev))
		ret = -ENODEV;

	/* The buffers vb2 queued before STREAMON, in order. */
	while (!ret && !list_empty(&todo)) {
		buf = list_first_entry(&todo, struct vmc_buffer, list);
		ret = vmc_buf_give(dev, s, buf);
		if (ret)
			break;
		list_del_init(&buf->list);
		sent = true;
		ret = vmc_send_qbuf(dev, s, buf, buf->mem, &maybe);
	}
	if (!ret) {
		sent = true;
		ret = vmc_dev_stream(s, true);
	}
	if (!ret) {
		spin_lock(&dev->qlock);
		if (vmc_session_dead(s) || dev->removed) {
			ret = -EIO;
		} else {
			dev->q_started = true;
			/* Frames that arrived before STREAMON's answer. */
			list_for_each_entry_safe(buf, tmp, &dev->early, list) {
				list_del_init(&buf->list);
				vmc_buf_complete(dev, buf);
			}
		}
		spin_unlock(&dev->qlock);
		if (!ret)
			return 0;
	}

	/*
	 * Failed: make the device forget what it got, and give every buffer
	 * back to vb2 as QUEUED, as vb2 requires.
	 */
	vmc_err(dev, "cannot start streaming: %d\n", ret);
	forgot = !sent || (!vmc_is_removed(dev) && !vmc_session_dead(s) &&
			   vmc_dev_stream(s, false) == 0);
	spin_lock(&dev->qlock);
	list_splice_tail_init(&todo, &dev->pending);
	vmc_return_all_locked(dev, VB2_BUF_STATE_QUEUED, &release, !forgot);
	spin_unlock(&dev->qlock);
	vmc_devrefs_free(&release);
	if (forgot && s)
		vmc_release_orphans(dev, false, s->serial);
	return ret;
}

static void vmc_stop_streaming(struct vb2_queue *q)
{
	struct vmc_device *dev = vb2_get_drv_priv(q);
	struct vmc_session *s = vmc_vb2_session(dev);
	LIST_HEAD(release);
	bool forgot;

	/*
	 * After a successful STREAMOFF the device forgets every queued
	 * buffer. Otherwise (device gone but maybe not reset yet, session
	 * dead, STREAMOFF failed, or the session is closing and its CLOSE
	 * will make the device forget them) the memory stays referenced as
	 * orphans.
	 */
	forgot = s && !s->closing && !vmc_is_removed(dev) &&
		 !vmc_session_dead(s) && vmc_dev_stream(s, false) == 0;

	spin_lock(&dev->qlock);
	dev->q_started = false;
	dev->q_seq_valid = false;
	vmc_return_all_locked(dev, VB2_BUF_STATE_ERROR, &release, !forgot);
	spin_unlock(&dev->qlock);
	vmc_devrefs_free(&release);
	if (forgot)
		vmc_release_orphans(dev, false, s->serial);
}

static const struct vb2_ops vmc_vb2_ops = {
	.queue_setup = vmc_queue_setup,
	.buf_init = vmc_buf_init,
	.buf_out_validate = vmc_buf_out_validate,
	.buf_prepare = vmc_buf_prepare,
	.buf_finish = vmc_buf_finish,
	.buf_cleanup = vmc_buf_cleanup,
	.buf_queue = vmc_buf_queue,
	.start_streaming = vmc_start_streaming,
	.stop_streaming = vmc_stop_streaming,
	VMC_VB2_WAIT_OPS
};

int vmc_queue_init(struct vmc_device *dev)
{
	struct vb2_queue *q = &dev->queue;

	q->type = dev->buf_type;
	q->io_modes = VB2_MMAP | VB2_USERPTR | VB2_DMABUF;
	if (dev->output)
		q->io_modes |= VB2_WRITE;
	q->drv_priv = dev;
	q->buf_struct_size = sizeof(struct vmc_buffer);
	q->ops = &vmc_vb2_ops;
	q->mem_ops = &vb2_dma_sg_memops;
	q->timestamp_flags = V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC |
			     V4L2_BUF_FLAG_TSTAMP_SRC_EOF;
	q->lock = &dev->vlock;
	q->dev = dev->dma_dev;
	return vb2_queue_init(q);
}

/* ---- buffer ioctls ------------------------------------------------------------ */

/*
 * The vb2 helpers do the work; dev->cur tells the vb2 operations which
 * session's device state they act on (vb2 guarantees it is the queue owner).
 */
static struct vmc_session *vmc_vb2_begin(struct file *file)
{
	struct vmc_session *s = vmc_file_session(file);

	if (vmc_session_dead(s))
		return NULL;
	s->dev->cur = s;
	s->dev->setup_calls = 0;
	return s;
}

static void vmc_vb2_end(struct vmc_session *s)
{
	s->dev->cur = NULL;
}

/*
 * When vb2 holds no buffer, the device must not either (a failed REQBUFS,
 * REQBUFS(0)): otherwise other sessions would get EBUSY from it.
 */
static int vmc_queue_resync(struct vmc_device *dev, struct vmc_session *s)
{
	bool stale;

	if (vmc_vb2_count(&dev->queue))
		return 0;
	spin_lock(&dev->qlock);
	stale = dev->q_alloc && dev->q_sid == s->id;
	spin_unlock(&dev->qlock);
	if (!stale || vmc_session_dead(s))
		return 0;
	return vmc_dev_reqbufs0(dev, s);
}

int vmc_vidioc_reqbufs(struct file *file, void *priv,
		       struct v4l2_requestbuffers *rb)
{
	struct vmc_session *s = vmc_vb2_begin(file);
	int ret, r;

	if (!s)
		return -EIO;
	ret = vb2_ioctl_reqbufs(file, priv, rb);
	vmc_vb2_end(s);
	/* REQBUFS(0), or a REQBUFS that failed after the device allocated. */
	r = vmc_queue_resync(s->dev, s);
	if (!ret && !rb->count)
		ret = r;
	return ret;
}

int vmc_vidioc_create_bufs(struct file *file, void *priv,
			   struct v4l2_create_buffers *cb)
{
	struct vmc_session *s = vmc_vb2_begin(file);
	int ret;

	if (!s)
		return -EIO;
	ret = vb2_ioctl_create_bufs(file, priv, cb);
	vmc_vb2_end(s);
	vmc_queue_resync(s->dev, s);
	return ret;
}

int vmc_vidioc_prepare_buf(struct file *file, void *priv,
			   struct v4l2_buffer *b)
{
	struct vmc_session *s = vmc_vb2_begin(file);
	int ret;

	if (!s)
		return -EIO;
	ret = vb2_ioctl_prepare_buf(file, priv, b);
	vmc_vb2_end(s);
	return ret;
}

int vmc_vidioc_qbuf(struct file *file, void *priv, struct v4l2_buffer *b)
{
	struct vmc_session *s = vmc_vb2_begin(file);
	int ret;

	if (!s)
		return -EIO;
	ret = vb2_ioctl_qbuf(file, priv, b);
	vmc_vb2_end(s);
	return ret;
}

int vmc_vidioc_streamon(struct file *file, void *priv, enum v4l2_buf_type t)
{
	struct vmc_session *s = vmc_vb2_begin(file);
	int ret;

	if (!s)
		return -EIO;
	ret = vb2_ioctl_streamon(file, priv, t);
	vmc_vb2_end(s);
	return ret;
}

int vmc_vidioc_streamoff(struct file *file, void *priv, enum v4l2_buf_type t)
{
	struct vmc_session *s = vmc_vb2_begin(file);
	int ret;

	if (!s)
		return -EIO;
	ret = vb2_ioctl_streamoff(file, priv, t);
	vmc_vb2_end(s);
	return ret;
}

/*
 * These never reach a vb2 operation that talks to the device. DQBUF may
 * sleep with vlock dropped, so it must not touch dev->cur.
 */
int vmc_vidioc_dqbuf(struct file *file, void *priv, struct v4l2_buffer *b)
{
	if (vmc_session_dead(vmc_file_session(file)))
		return -EIO;
	return vb2_ioctl_dqbuf(file, priv, b);
}

int vmc_vidioc_querybuf(struct file *file, void *priv, struct v4l2_buffer *b)
{
	if (vmc_session_dead(vmc_file_session(file)))
		return -EIO;
	return vb2_ioctl_querybuf(file, priv, b);
}

int vmc_vidioc_expbuf(struct file *file, void *priv,
		      struct v4l2_exportbuffer *eb)
{
	if (vmc_session_dead(vmc_file_session(file)))
		return -EIO;
	return vb2_ioctl_expbuf(file, priv, eb);
}

/*
 * write() on an output node: vb2's emulation takes the bytes into its own
 * buffers and queues each one once it holds a whole frame (the plane size is
 * sizeimage). The writer owns the queue from the start, not only afterwards
 * as with vb2_fop_write(): the write may wait for a free buffer with vlock
 * dropped, and the operations then find the session through the owner.
 */
ssize_t vmc_write(struct file *file, const char __user *buf, size_t count,
		  loff_t *ppos)
{
	struct vmc_device *dev = vmc_file_session(file)->dev;
	struct vb2_queue *q = &dev->queue;
	struct vmc_session *s;
	bool owned;
	ssize_t ret;

	if (mutex_lock_interruptible(&dev->vlock))
		return -ERESTARTSYS;
	ret = -EBUSY;
	if (q->owner && q->owner != file->private_data)
		goto out;
	ret = -EIO;
	s = vmc_vb2_begin(file);
	if (!s)
		goto out;
	owned = q->owner;
	q->owner = file->private_data;
	ret = vb2_write(q, buf, count, ppos, file->f_flags & O_NONBLOCK);
	vmc_vb2_end(s);
	if (!q->fileio && !owned)
		q->owner = NULL;
	vmc_queue_resync(dev, s);
out:
	mutex_unlock(&dev->vlock);
	return ret;
}

/*
 * poll() on an output node: as vb2_fop_poll(), except that a poll for
 * POLLOUT that starts vb2's write() emulation (no buffers yet) allocates
 * them for this session.
 */
__poll_t vmc_output_poll(struct file *file, poll_table *wait)
{
	struct vmc_device *dev = vmc_file_session(file)->dev;
	struct vb2_queue *q = &dev->queue;
	struct vmc_session *s;
	bool fileio;
	__poll_t res;

	if (mutex_lock_interruptible(&dev->vlock))
		return EPOLLERR;
	s = vmc_vb2_begin(file);
	if (!s) {
		mutex_unlock(&dev->vlock);
		return EPOLLERR;
	}
	fileio = vb2_fileio_is_active(q);
	res = vb2_poll(q, file, wait);
	vmc_vb2_end(s);
	if (!fileio && vb2_fileio_is_active(q))
		q->owner = file->private_data;
	vmc_queue_resync(dev, s);
	mutex_unlock(&dev->vlock);
	return res;
}
