// SPDX-License-Identifier: GPL-2.0
/*
 * Spectrum Camera: virtio-media capture and output driver.
 * Virtio transport: probe/remove, configuration, the commandq.
 */

#include <linux/device.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/virtio_config.h>
#include <media/v4l2-ioctl.h>

#include "vmc.h"

/* ---- commands ----------------------------------------------------------- */

static void vmc_cmd_release(struct kref *ref)
{
	struct vmc_cmd *cmd = container_of(ref, struct vmc_cmd, ref);

	/* May run in the commandq interrupt: kvfree defers vmalloc'd memory. */
	kvfree(cmd->req);
	kfree(cmd->resp);
	kfree(cmd);
}

struct vmc_cmd *vmc_cmd_alloc(size_t req_len, size_t resp_len)
{
	struct vmc_cmd *cmd;

	cmd = kzalloc(sizeof(*cmd), GFP_KERNEL);
	if (!cmd)
		return NULL;
	kref_init(&cmd->ref);
	init_completion(&cmd->done);
	INIT_LIST_HEAD(&cmd->reap);
	cmd->req_len = req_len;
	cmd->resp_len = resp_len;
	cmd->req = kvzalloc(req_len, GFP_KERNEL);
	if (!cmd->req)
		goto fail;
	if (resp_len) {
		cmd->resp = kzalloc(resp_len, GFP_KERNEL);
		if (!cmd->resp)
			goto fail;
	}
	return cmd;

fail:
	kvfree(cmd->req);
	kfree(cmd);
	return NULL;
}

void vmc_cmd_put(struct vmc_cmd *cmd)
{
	if (cmd)
		kref_put(&cmd->ref, vmc_cmd_release);
}

bool vmc_is_removed(struct vmc_device *dev)
{
	return READ_ONCE(dev->removed);
}

/*
 * Describes the request memory as a scatterlist. kmalloc'd memory is one
 * entry; vmalloc'd memory (a large SG list) is one entry per page.
 */
static struct scatterlist *vmc_req_sg(struct vmc_cmd *cmd, unsigned int *nents)
{
	struct scatterlist *sg;
	unsigned int n, i;
	size_t off, len;
	u8 *p = cmd->req;

	if (!is_vmalloc_addr(p)) {
		sg = kmalloc(sizeof(*sg), GFP_KERNEL);
		if (!sg)
			return NULL;
		sg_init_one(sg, p, cmd->req_len);
		*nents = 1;
		return sg;
	}

	n = DIV_ROUND_UP(offset_in_page(p) + cmd->req_len, PAGE_SIZE);
	sg = kmalloc_array(n, sizeof(*sg), GFP_KERNEL);
	if (!sg)
		return NULL;
	sg_init_table(sg, n);
	for (i = 0, off = 0; off < cmd->req_len; i++) {
		len = min_t(size_t, cmd->req_len - off,
			    PAGE_SIZE - offset_in_page(p + off));
		sg_set_page(&sg[i], vmalloc_to_page(p + off), len,
			    offset_in_page(p + off));
		off += len;
	}
	*nents = n;
	return sg;
}

/*
 * Puts @cmd on the commandq; the ring takes its own reference. Fails with
 * -ENODEV once the device is gone, -EIO while it is broken (a command timed
 * out; nothing is sent until the device is reset), -EBUSY when the ring is
 * full, or -ENOMEM.
 */
static int vmc_cmd_submit(struct vmc_device *dev, struct vmc_cmd *cmd)
{
	struct scatterlist *out_sg, in_sg, *sgs[2];
	unsigned int nout, nin = 0;
	unsigned long flags;
	bool kick = false;
	int err;

	out_sg = vmc_req_sg(cmd, &nout);
	if (!out_sg)
		return -ENOMEM;
	sgs[0] = out_sg;
	if (cmd->resp) {
		sg_init_one(&in_sg, cmd->resp, cmd->resp_len);
		sgs[1] = &in_sg;
		nin = 1;
	}

	spin_lock_irqsave(&dev->cmdq_lock, flags);
	if (dev->removed) {
		err = -ENODEV;
	} else if (dev->broken) {
		err = -EIO;
	} else {
		/* The ring's reference, dropped when the chain comes back. */
		kref_get(&cmd->ref);
		err = virtqueue_add_sgs(dev->cmdq, sgs, 1, nin, cmd, GFP_ATOMIC);
		if (err)
			kref_put(&cmd->ref, vmc_cmd_release);	/* not the last */
		else
			kick = virtqueue_kick_prepare(dev->cmdq);
	}
	spin_unlock_irqrestore(&dev->cmdq_lock, flags);
	kfree(out_sg);

	if (err == -EIO)
		vmc_err(dev, "the device stopped answering: command refused with EIO until it is reset (reload the driver, or unbind and bind %s)\n",
			dev_name(&dev->vdev->dev));
	if (err == -ENOSPC) {
		vmc_err(dev, "commandq is full\n");
		err = -EBUSY;
	}
	if (!err && kick)
		virtqueue_notify(dev->cmdq);
	return err;
}

/*
 * The waiter leaves @cmd (timeout or fatal signal). Returns false if the
 * device already returned it: the answer is then valid after all.
 * Otherwise the command becomes detached: its memory stays with the ring
 * until the device returns the chain or is reset.
 */
static bool vmc_cmd_abandon(struct vmc_device *dev, struct vmc_cmd *cmd)
{
	unsigned long flags;
	bool gone;

	spin_lock_irqsave(&dev->cmdq_lock, flags);
	gone = !cmd->returned;
	if (gone)
		cmd->detached = true;
	spin_unlock_irqrestore(&dev->cmdq_lock, flags);
	return gone;
}

/* Called with cmd_lock held, so no other waiter submits before it is set. */
static void vmc_mark_broken(struct vmc_device *dev)
{
	unsigned long flags;
	bool was;

	spin_lock_irqsave(&dev->cmdq_lock, flags);
	was = dev->broken;
	dev->broken = true;
	spin_unlock_irqrestore(&dev->cmdq_lock, flags);
	if (was)
		return;
	dev_err(&dev->vdev->dev,
		"command timed out after %u ms: the device is marked broken, every later command fails with EIO until it is reset (reload the driver, or unbind and bind %s)\n",
		jiffies_to_msecs(VMC_CMD_TIMEOUT), dev_name(&dev->vdev->dev));
	vmc_queue_fail(dev);
}

/*
 * Runs one command and waits for its answer: one waiter at a time, at most
 * VMC_CMD_TIMEOUT, and a fatal signal ends the wait (also the wait for
 * cmd_lock). Returns 0 when the device returned the chain (cmd->used is then
 * valid), -ETIMEDOUT (the device is now broken), -EINTR (killed; the command
 * may still reach the device), or a vmc_cmd_submit() error. The caller keeps
 * its reference to @cmd and drops it with vmc_cmd_put() in every case.
 */
int vmc_cmd_exec(struct vmc_device *dev, struct vmc_cmd *cmd)
{
	long left;
	int err;

	if (mutex_lock_killable(&dev->cmd_lock))
		return -EINTR;
	err = vmc_cmd_submit(dev, cmd);
	if (err) {
		mutex_unlock(&dev->cmd_lock);
		return err;
	}

	left = wait_for_completion_killable_timeout(&cmd->done,
						    VMC_CMD_TIMEOUT);
	if (left <= 0) {
		if (vmc_cmd_abandon(dev, cmd)) {
			if (!left)
				vmc_mark_broken(dev);
			mutex_unlock(&dev->cmd_lock);
			if (!left)
				return -ETIMEDOUT;
			vmc_warn(dev, "a process was killed while waiting for the device; its command stays with the device until answered\n");
			return -EINTR;
		}
		/*
		 * The device returned it just as the wait ended: the callback
		 * is about to complete it, without sleeping.
		 */
		wait_for_completion(&cmd->done);
	}
	mutex_unlock(&dev->cmd_lock);
	return cmd->xfer_err;
}

/*
 * Sends @cmd without waiting for it (CLOSE). The ring keeps the command;
 * vmc_detached_done() finishes it when the device returns it. The caller
 * drops its own reference whatever the result.
 */
int vmc_cmd_send_detached(struct vmc_device *dev, struct vmc_cmd *cmd)
{
	cmd->detached = true;	/* not on the ring yet: no lock needed */
	return vmc_cmd_submit(dev, cmd);
}

/*
 * Checks a returned command's response: used length within the buffer and at
 * least a header, status 0 or a valid errno, and on success at least @need
 * bytes. Returns 0, the device's -errno, or -EIO for an invalid answer.
 */
int vmc_cmd_status(struct vmc_device *dev, struct vmc_cmd *cmd, size_t need,
		   const char *what)
{
	const struct virtio_media_resp_header *hdr = cmd->resp;
	u32 status;

	if (!hdr || cmd->used > cmd->resp_len ||
	    cmd->used < sizeof(*hdr)) {
		vmc_err(dev, "%s: invalid used length %u (buffer %zu)\n",
			what, cmd->used, cmd->resp_len);
		return -EIO;
	}
	status = le32_to_cpu(hdr->status);
	if (status) {
		/*
		 * Kernel-internal codes (512 and up, e.g. ERESTARTSYS) must
		 * never reach user space; 4096 and up are not errnos at all.
		 */
		if (status >= 512) {
			vmc_err(dev, "%s: invalid status %u\n", what, status);
			return -EIO;
		}
		return -(int)status;
	}
	if (cmd->used < need) {
		vmc_err(dev, "%s: short answer, %u of %zu bytes\n",
			what, cmd->used, need);
		return -EIO;
	}
	return 0;
}

/*
 * Under cmdq_lock: the device returned @cmd (or the reset detached it).
 * Waited-for commands go to @done for complete(); detached ones to
 * dev->detached for the worker, which inherits the ring's reference.
 */
static void vmc_cmd_returned_locked(struct vmc_device *dev,
				    struct vmc_cmd *cmd, struct list_head *done)
{
	cmd->returned = true;
	list_add_tail(&cmd->reap, cmd->detached ? &dev->detached : done);
}

/* Outside cmdq_lock: wakes the waiters and drops the ring's references. */
static void vmc_cmd_complete_all(struct vmc_device *dev, struct list_head *done,
				 bool detached)
{
	struct vmc_cmd *cmd, *tmp;

	list_for_each_entry_safe(cmd, tmp, done, reap) {
		list_del_init(&cmd->reap);
		complete(&cmd->done);
		vmc_cmd_put(cmd);
	}
	if (detached)
		schedule_work(&dev->detached_work);
}

static void vmc_cmdq_done(struct virtqueue *vq)
{
	struct vmc_device *dev = vq->vdev->priv;
	struct vmc_cmd *cmd;
	unsigned long flags;
	unsigned int len;
	bool detached;
	LIST_HEAD(done);

	spin_lock_irqsave(&dev->cmdq_lock, flags);
	do {
		virtqueue_disable_cb(vq);
		while ((cmd = virtqueue_get_buf(vq, &len))) {
			cmd->used = len;
			vmc_cmd_returned_locked(dev, cmd, &done);
		}
	} while (!virtqueue_enable_cb(vq));
	detached = !list_empty(&dev->detached);
	spin_unlock_irqrestore(&dev->cmdq_lock, flags);

	vmc_cmd_complete_all(dev, &done, detached);
}

/*
 * After the device reset: finish every command still on the ring. Chains the
 * device returned keep their answer; the others fail with -ENODEV. Waiters
 * wake up, and the ring's references are dropped. The caller then flushes
 * dev->detached_work.
 */
static void vmc_cmdq_drain(struct vmc_device *dev)
{
	struct vmc_cmd *cmd;
	unsigned long flags;
	unsigned int len;
	bool detached;
	LIST_HEAD(done);

	spin_lock_irqsave(&dev->cmdq_lock, flags);
	while ((cmd = virtqueue_get_buf(dev->cmdq, &len))) {
		cmd->used = len;
		vmc_cmd_returned_locked(dev, cmd, &done);
	}
	while ((cmd = virtqueue_detach_unused_buf(dev->cmdq))) {
		cmd->xfer_err = -ENODEV;
		vmc_cmd_returned_locked(dev, cmd, &done);
	}
	detached = !list_empty(&dev->detached);
	spin_unlock_irqrestore(&dev->cmdq_lock, flags);

	vmc_cmd_complete_all(dev, &done, detached);
}

/* Finishes returned detached commands in process context. */
void vmc_detached_work(struct work_struct *work)
{
	struct vmc_device *dev = container_of(work, struct vmc_device,
					      detached_work);
	struct vmc_cmd *cmd, *tmp;
	unsigned long flags;
	LIST_HEAD(todo);

	spin_lock_irqsave(&dev->cmdq_lock, flags);
	list_splice_init(&dev->detached, &todo);
	spin_unlock_irqrestore(&dev->cmdq_lock, flags);

	list_for_each_entry_safe(cmd, tmp, &todo, reap) {
		list_del_init(&cmd->reap);
		vmc_detached_done(dev, cmd);
		vmc_cmd_put(cmd);
	}
}

/* ---- probe / remove ----------------------------------------------------- */

/* Every capability of the output direction, and of the capture direction. */
#define VMC_OUTPUT_CAPS (V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_VIDEO_OUTPUT_MPLANE | \
			 V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE | \
			 V4L2_CAP_VIDEO_OUTPUT_OVERLAY | V4L2_CAP_VBI_OUTPUT | \
			 V4L2_CAP_SLICED_VBI_OUTPUT | V4L2_CAP_SDR_OUTPUT | \
			 V4L2_CAP_META_OUTPUT | V4L2_CAP_MODULATOR | \
			 V4L2_CAP_RDS_OUTPUT)
#define VMC_CAPTURE_CAPS (V4L2_CAP_VIDEO_CAPTURE | \
			  V4L2_CAP_VIDEO_CAPTURE_MPLANE | \
			  V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE | \
			  V4L2_CAP_VIDEO_OVERLAY | V4L2_CAP_VBI_CAPTURE | \
			  V4L2_CAP_SLICED_VBI_CAPTURE | V4L2_CAP_SDR_CAPTURE | \
			  V4L2_CAP_META_CAPTURE | V4L2_CAP_TUNER | \
			  V4L2_CAP_RDS_CAPTURE | V4L2_CAP_HW_FREQ_SEEK | \
			  V4L2_CAP_TOUCH)
#define VMC_REQUIRED_CAPS (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING)
#define VMC_OUTPUT_REQUIRED_CAPS (V4L2_CAP_VIDEO_OUTPUT | V4L2_CAP_STREAMING)

/*
 * The node the device's capabilities ask for: a capture node (the rule the
 * driver always had: capture and streaming, nothing of the output
 * direction), or an output node (video output and streaming, nothing of the
 * capture direction, no other kind of output). Anything else, M2M included,
 * is refused.
 */
static bool vmc_pick_role(struct vmc_device *dev, u32 caps)
{
	if ((caps & VMC_REQUIRED_CAPS) == VMC_REQUIRED_CAPS &&
	    !(caps & VMC_OUTPUT_CAPS)) {
		dev->output = false;
		dev->buf_type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
		/* Exactly a single-planar streaming capture node. */
		dev->device_caps = VMC_REQUIRED_CAPS;
		return true;
	}
	if ((caps & VMC_OUTPUT_REQUIRED_CAPS) == VMC_OUTPUT_REQUIRED_CAPS &&
	    !(caps & VMC_CAPTURE_CAPS) &&
	    !(caps & VMC_OUTPUT_CAPS & ~V4L2_CAP_VIDEO_OUTPUT)) {
		dev->output = true;
		dev->buf_type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
		/*
		 * A single-planar streaming output node; write() too, which
		 * the driver emulates on its streaming queue (vb2's write
		 * emulation), because ffmpeg's v4l2 output writes frames.
		 */
		dev->device_caps = VMC_OUTPUT_REQUIRED_CAPS |
				   V4L2_CAP_READWRITE;
		return true;
	}
	return false;
}

static int vmc_read_config(struct vmc_device *dev)
{
	struct virtio_device *vdev = dev->vdev;
	u32 caps, type;
	u8 card[32];

	virtio_cread_le(vdev, struct virtio_media_config, device_caps, &caps);
	virtio_cread_le(vdev, struct virtio_media_config, device_type, &type);
	virtio_cread_bytes(vdev, offsetof(struct virtio_media_config, card),
			   card, sizeof(card));

	if (!vmc_pick_role(dev, caps)) {
		dev_err(&vdev->dev,
			"device_caps 0x%08x: not a capture-only streaming device, nor a video-output-only one, not binding\n",
			caps);
		return -ENODEV;
	}
	if (type != VFL_TYPE_VIDEO) {
		dev_err(&vdev->dev,
			"device_type %u is not a video node, not binding\n",
			type);
		return -ENODEV;
	}

	/* At most 31 bytes of the device's name, always NUL-terminated. */
	memcpy(dev->card, card, sizeof(dev->card) - 1);
	dev->card[sizeof(dev->card) - 1] = '\0';
	if (!dev->card[0])
		strscpy(dev->card, "Virtio Media Camera", sizeof(dev->card));

	snprintf(dev->bus_info, sizeof(dev->bus_info), "platform:virtio-media-%s",
		 dev_name(&vdev->dev));
	return 0;
}

static int vmc_find_vqs(struct vmc_device *dev)
{
	struct virtqueue *vqs[2];
	int err;

	err = vmc_compat_find_vqs(dev->vdev, vqs, vmc_cmdq_done, vmc_evtq_done);
	if (err)
		return err;
	dev->cmdq = vqs[0];
	dev->evtq = vqs[1];
	return 0;
}

static void vmc_v4l2_release(struct v4l2_device *v4l2_dev)
{
	struct vmc_device *dev = container_of(v4l2_dev, struct vmc_device,
					      v4l2_dev);

	/* Last close after remove(): the device was reset, nothing is left. */
	vmc_release_orphans(dev, true, 0);
	put_device(dev->dma_dev);
	put_device(&dev->vdev->dev);
	kfree(dev);
}

/*
 * Sets dev->removed. The flag is written under cmdq_lock (command submission
 * checks it there); taking the other locks once afterwards makes every later
 * critical section under them see it too.
 */
static void vmc_mark_removed(struct vmc_device *dev)
{
	unsigned long flags;

	spin_lock_irqsave(&dev->cmdq_lock, flags);
	WRITE_ONCE(dev->removed, true);
	spin_unlock_irqrestore(&dev->cmdq_lock, flags);
	spin_lock_irqsave(&dev->evtq_lock, flags);
	spin_unlock_irqrestore(&dev->evtq_lock, flags);
	spin_lock(&dev->qlock);
	spin_unlock(&dev->qlock);
}

static int vmc_validate(struct virtio_device *vdev)
{
	/*
	 * SG lists carry guest-physical addresses (sg_phys), which is only
	 * right when the device does not translate them.
	 */
	if (virtio_has_feature(vdev, VIRTIO_F_ACCESS_PLATFORM)) {
		dev_info(&vdev->dev, "not negotiating VIRTIO_F_ACCESS_PLATFORM\n");
		__virtio_clear_bit(vdev, VIRTIO_F_ACCESS_PLATFORM);
	}
	return 0;
}

static int vmc_probe(struct virtio_device *vdev)
{
	struct vmc_device *dev;
	struct video_device *vd;
	int err;

	if (!vdev->dev.parent) {
		dev_err(&vdev->dev, "no parent device for DMA, not binding\n");
		return -ENODEV;
	}

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	dev->vdev = vdev;
	get_device(&vdev->dev);
	dev->dma_dev = get_device(vdev->dev.parent);
	spin_lock_init(&dev->cmdq_lock);
	spin_lock_init(&dev->evtq_lock);
	spin_lock_init(&dev->sess_lock);
	spin_lock_init(&dev->qlock);
	mutex_init(&dev->cmd_lock);
	mutex_init(&dev->vlock);
	INIT_LIST_HEAD(&dev->sessions);
	INIT_LIST_HEAD(&dev->pending);
	INIT_LIST_HEAD(&dev->early);
	INIT_LIST_HEAD(&dev->orphans);
	INIT_LIST_HEAD(&dev->detached);
	INIT_WORK(&dev->event_work, vmc_event_work);
	INIT_WORK(&dev->detached_work, vmc_detached_work);
	vdev->priv = dev;

	err = vmc_read_config(dev);
	if (err)
		goto err_free;

	err = vmc_find_vqs(dev);
	if (err) {
		dev_err(&vdev->dev, "cannot set up virtqueues: %d\n", err);
		goto err_free;
	}

	/* Pre-post the event buffers, then DRIVER_OK, then tell the device. */
	err = vmc_event_init(dev);
	if (err)
		goto err_vqs;
	virtio_device_ready(vdev);
	vmc_event_kick(dev);

	err = v4l2_device_register(&vdev->dev, &dev->v4l2_dev);
	if (err)
		goto err_reset;
	dev->v4l2_dev.release = vmc_v4l2_release;

	err = vmc_queue_init(dev);
	if (err)
		goto err_v4l2;

	vd = &dev->video;
	strscpy(vd->name, dev->card, sizeof(vd->name));
	vd->fops = dev->output ? &vmc_output_fops : &vmc_capture_fops;
	vd->ioctl_ops = dev->output ? &vmc_output_ioctl_ops :
				      &vmc_capture_ioctl_ops;
	vd->release = video_device_release_empty;
	vd->v4l2_dev = &dev->v4l2_dev;
	vd->queue = &dev->queue;
	vd->lock = &dev->vlock;
	vd->vfl_dir = dev->output ? VFL_DIR_TX : VFL_DIR_RX;
	vd->device_caps = dev->device_caps;
	video_set_drvdata(vd, dev);

	err = video_register_device(vd, VFL_TYPE_VIDEO, -1);
	if (err) {
		dev_err(&vdev->dev, "cannot register video device: %d\n", err);
		goto err_v4l2;
	}

	dev_info(&vdev->dev, "%s: \"%s\" (%s)%s\n", video_device_node_name(vd),
		 dev->card, dev->bus_info, dev->output ? ", video output" : "");
	return 0;

err_v4l2:
	vmc_mark_removed(dev);
	virtio_reset_device(vdev);
	cancel_work_sync(&dev->event_work);
	vmc_cmdq_drain(dev);
	flush_work(&dev->detached_work);
	v4l2_device_unregister(&dev->v4l2_dev);
	vdev->config->del_vqs(vdev);
	vmc_event_free(dev);
	vdev->priv = NULL;
	v4l2_device_put(&dev->v4l2_dev);	/* frees dev */
	return err;

err_reset:
	vmc_mark_removed(dev);
	virtio_reset_device(vdev);
	cancel_work_sync(&dev->event_work);
err_vqs:
	vdev->config->del_vqs(vdev);
	vmc_event_free(dev);
err_free:
	vdev->priv = NULL;
	put_device(dev->dma_dev);
	put_device(&vdev->dev);
	kfree(dev);
	return err;
}

static void vmc_remove(struct virtio_device *vdev)
{
	struct vmc_device *dev = vdev->priv;

	/* No new command or event buffer from here on. */
	vmc_mark_removed(dev);

	/* The device stops touching guest memory; no more callbacks. */
	virtio_reset_device(vdev);
	cancel_work_sync(&dev->event_work);

	/* Wake every command waiter (ioctls, open); finish detached ones. */
	vmc_cmdq_drain(dev);
	flush_work(&dev->detached_work);

	/* Return every buffer with ERROR and wake DQBUF/poll waiters. */
	mutex_lock(&dev->vlock);
	vmc_queue_kill(dev);
	mutex_unlock(&dev->vlock);

	/* New opens fail; open files keep working until their last close. */
	vb2_video_unregister_device(&dev->video);
	v4l2_device_unregister(&dev->v4l2_dev);

	vdev->config->del_vqs(vdev);
	vmc_event_free(dev);
	vmc_release_orphans(dev, true, 0);

	/* Frees dev now, or at the last close of the node. */
	v4l2_device_put(&dev->v4l2_dev);
}

static const struct virtio_device_id vmc_id_table[] = {
	{ VIRTIO_ID_MEDIA, VIRTIO_DEV_ANY_ID },
	{ 0 },
};
MODULE_DEVICE_TABLE(virtio, vmc_id_table);

static struct virtio_driver vmc_driver = {
	.driver.name = VMC_DRIVER_NAME,
#ifndef register_virtio_driver	/* older kernels do not set the owner */
	.driver.owner = THIS_MODULE,
#endif
	.id_table = vmc_id_table,
	.validate = vmc_validate,
	.probe = vmc_probe,
	.remove = vmc_remove,
};
module_virtio_driver(vmc_driver);

MODULE_DESCRIPTION("virtio-media capture and output driver (Spectrum Camera)");
MODULE_LICENSE("GPL");
