// SPDX-License-Identifier: GPL-2.0
/*
 * Spectrum Camera: virtio-media capture and output driver.
 * The eventq: pre-posted device-writable buffers, and the worker that
 * validates and dispatches EVT_ERROR / EVT_DQBUF / EVT_EVENT.
 */

#include <linux/dma-mapping.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>

#include "vmc.h"

static size_t vmc_event_buf_size(void)
{
	/* Each buffer on its own cache lines: the device writes into it. */
	return ALIGN(VIRTIO_MEDIA_EVENT_MAX_SIZE, dma_get_cache_alignment());
}

/* Called with evtq_lock held. */
static int vmc_event_post_locked(struct vmc_device *dev, void *buf, gfp_t gfp)
{
	struct scatterlist sg;

	sg_init_one(&sg, buf, VIRTIO_MEDIA_EVENT_MAX_SIZE);
	return virtqueue_add_inbuf(dev->evtq, &sg, 1, buf, gfp);
}

int vmc_event_init(struct vmc_device *dev)
{
	unsigned long flags;
	unsigned int i;
	int err = 0;

	for (i = 0; i < VMC_NUM_EVENT_BUFS; i++) {
		dev->evbufs[i] = kzalloc(vmc_event_buf_size(), GFP_KERNEL);
		if (!dev->evbufs[i])
			return -ENOMEM;	/* the caller frees what exists */
	}

	spin_lock_irqsave(&dev->evtq_lock, flags);
	for (i = 0; i < VMC_NUM_EVENT_BUFS && !err; i++)
		err = vmc_event_post_locked(dev, dev->evbufs[i], GFP_ATOMIC);
	spin_unlock_irqrestore(&dev->evtq_lock, flags);
	if (err) {
		dev_err(&dev->vdev->dev,
			"cannot post %u event buffers (eventq has %u entries): %d\n",
			VMC_NUM_EVENT_BUFS, virtqueue_get_vring_size(dev->evtq),
			err);
		/* The caller deletes the queues, then frees the buffers. */
		return err;
	}
	return 0;
}

void vmc_event_kick(struct vmc_device *dev)
{
	unsigned long flags;
	bool kick;

	spin_lock_irqsave(&dev->evtq_lock, flags);
	kick = !dev->removed && virtqueue_kick_prepare(dev->evtq);
	spin_unlock_irqrestore(&dev->evtq_lock, flags);
	if (kick)
		virtqueue_notify(dev->evtq);
}

/* Only after the virtqueues were deleted: the device cannot write any more. */
void vmc_event_free(struct vmc_device *dev)
{
	unsigned int i;

	for (i = 0; i < VMC_NUM_EVENT_BUFS; i++) {
		kfree(dev->evbufs[i]);
		dev->evbufs[i] = NULL;
	}
}

/*
 * Handles what the device has put on the eventq by now, and returns after
 * that: when a command's answer arrives, the events the device queued before
 * answering are there, but the worker that handles them may not have run
 * yet. The worker takes only spinlocks, so this may be called under vlock.
 */
void vmc_event_flush(struct vmc_device *dev)
{
	if (vmc_is_removed(dev))
		return;
	schedule_work(&dev->event_work);
	flush_work(&dev->event_work);
}

void vmc_evtq_done(struct virtqueue *vq)
{
	struct vmc_device *dev = vq->vdev->priv;

	schedule_work(&dev->event_work);
}

static void vmc_event_error(struct vmc_device *dev, u32 sid,
			    const struct virtio_media_event_error *ev)
{
	u32 errnum = le32_to_cpu(ev->errnum);
	struct vmc_session *s;
	bool found = false;

	spin_lock(&dev->sess_lock);
	list_for_each_entry(s, &dev->sessions, node) {
		if (s->id == sid) {
			/* Freed only by release(); CLOSE is sent there. */
			WRITE_ONCE(s->dead, true);
			found = true;
			break;
		}
	}
	spin_unlock(&dev->sess_lock);

	if (!found) {
		vmc_err(dev, "EVT_ERROR for unknown session %u dropped\n", sid);
		return;
	}
	if (!errnum || errnum >= 4096)
		vmc_err(dev, "EVT_ERROR for session %u with invalid errno %u\n",
			sid, errnum);
	else
		vmc_err(dev, "session %u failed on the device (errno %u)\n",
			sid, errnum);

	vmc_queue_session_error(dev, sid);
}

static void vmc_event_handle(struct vmc_device *dev, const void *buf,
			     unsigned int len)
{
	const struct virtio_media_event_header *hdr = buf;
	u32 type, sid;

	if (len < sizeof(*hdr) || len > VIRTIO_MEDIA_EVENT_MAX_SIZE) {
		vmc_err(dev, "event of invalid length %u dropped\n", len);
		return;
	}
	type = le32_to_cpu(hdr->event);
	sid = le32_to_cpu(hdr->session_id);

	switch (type) {
	case VIRTIO_MEDIA_EVT_ERROR:
		if (len < sizeof(struct virtio_media_event_error))
			break;
		vmc_event_error(dev, sid, buf);
		return;
	case VIRTIO_MEDIA_EVT_DQBUF:
		if (len < sizeof(struct virtio_media_event_dqbuf))
			break;
		vmc_queue_dqbuf_event(dev, buf);
		return;
	case VIRTIO_MEDIA_EVT_EVENT:
		if (len < VIRTIO_MEDIA_EVENT_EVENT_SIZE)
			break;
		if (dev->output) {
			vmc_ctrl_event(dev, sid, buf);
			return;
		}
		/* A capture node subscribes to no device event. */
		vmc_warn(dev, "unexpected V4L2 event for session %u dropped\n",
			 sid);
		return;
	default:
		vmc_err(dev, "unknown event type %u dropped\n", type);
		return;
	}
	vmc_err(dev, "event type %u too short (%u bytes) dropped\n", type, len);
}

void vmc_event_work(struct work_struct *work)
{
	struct vmc_device *dev = container_of(work, struct vmc_device,
					      event_work);
	unsigned long flags;
	unsigned int len;
	bool kick = false;
	void *buf;
	int err;

	for (;;) {
		spin_lock_irqsave(&dev->evtq_lock, flags);
		buf = dev->removed ? NULL : virtqueue_get_buf(dev->evtq, &len);
		spin_unlock_irqrestore(&dev->evtq_lock, flags);
		if (!buf)
			break;

		/*
		 * The device does not touch the buffer until it is posted
		 * again, so it can be parsed in place.
		 */
		vmc_event_handle(dev, buf, len);
		memset(buf, 0, VIRTIO_MEDIA_EVENT_MAX_SIZE);

		spin_lock_irqsave(&dev->evtq_lock, flags);
		err = dev->removed ? 0 :
			vmc_event_post_locked(dev, buf, GFP_ATOMIC);
		spin_unlock_irqrestore(&dev->evtq_lock, flags);
		if (err)
			vmc_err(dev, "cannot re-post an event buffer: %d\n", err);
		else
			kick = true;
	}
	if (kick)
		vmc_event_kick(dev);
}
