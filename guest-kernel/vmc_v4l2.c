// SPDX-License-Identifier: GPL-2.0
/*
 * Spectrum Camera: virtio-media capture and output driver.
 * Sessions (one per open file), file operations, and the V4L2 ioctls that
 * are answered locally or forwarded to the device, with every answer checked.
 * The controls and events of output nodes are in vmc_ctrl.c.
 */

#include <linux/build_bug.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <media/v4l2-ioctl.h>

#include "vmc.h"

/* The wire layouts this driver relies on (64-bit V4L2 UAPI). */
static_assert(sizeof(struct virtio_media_config) == 40);
static_assert(sizeof(struct virtio_media_cmd_ioctl) == 16);
static_assert(sizeof(struct virtio_media_cmd_close) == 16);
static_assert(sizeof(struct virtio_media_resp_open) == 16);
static_assert(sizeof(struct virtio_media_event_error) == 16);
static_assert(sizeof(struct virtio_media_sg_entry) == 16);
static_assert(sizeof(struct vmc_wire_buffer) == 88);
static_assert(offsetof(struct vmc_wire_buffer, timestamp) == 24);
static_assert(offsetof(struct vmc_wire_buffer, sequence) == 56);
static_assert(offsetof(struct vmc_wire_buffer, memory) == 60);
static_assert(offsetof(struct vmc_wire_buffer, m) == 64);
static_assert(offsetof(struct vmc_wire_buffer, length) == 72);
static_assert(sizeof(struct virtio_media_event_dqbuf) == 608);
static_assert(offsetof(struct virtio_media_event_dqbuf, planes) == 96);
static_assert(sizeof(struct vmc_wire_requestbuffers) == 20);
static_assert(sizeof(struct vmc_wire_create_buffers) == 256);
static_assert(offsetof(struct vmc_wire_create_buffers, format) == 16);
static_assert(offsetof(struct vmc_wire_create_buffers, capabilities) == 224);
static_assert(sizeof(struct v4l2_format) == 208);
static_assert(offsetof(struct v4l2_format, fmt) == 8);
static_assert(sizeof(struct v4l2_pix_format) == 48);
static_assert(sizeof(struct v4l2_fmtdesc) == 64);
static_assert(offsetof(struct v4l2_fmtdesc, pixelformat) == 44);
static_assert(sizeof(struct v4l2_frmsizeenum) == 44);
static_assert(sizeof(struct v4l2_frmivalenum) == 52);
static_assert(sizeof(struct v4l2_streamparm) == 204);
static_assert(sizeof(struct v4l2_input) == 80);
static_assert(offsetof(struct v4l2_input, std) == 48);
static_assert(sizeof(struct v4l2_output) == 72);
static_assert(offsetof(struct v4l2_output, std) == 48);
static_assert(offsetof(struct v4l2_streamparm, parm.output.writebuffers) == 24);
static_assert(sizeof(struct v4l2_query_ext_ctrl) == 232);
static_assert(offsetof(struct v4l2_query_ext_ctrl, minimum) == 40);
static_assert(offsetof(struct v4l2_query_ext_ctrl, flags) == 72);
static_assert(offsetof(struct v4l2_query_ext_ctrl, dims) == 88);
static_assert(sizeof(struct v4l2_event_subscription) == 32);
static_assert(sizeof(struct v4l2_event) == 136);
static_assert(offsetof(struct v4l2_event, u) == 8);
static_assert(offsetof(struct v4l2_event, u.ctrl.value64) == 16);
static_assert(offsetof(struct v4l2_event, u.ctrl.default_value) == 40);
static_assert(offsetof(struct v4l2_event, id) == 96);
static_assert(sizeof(struct vmc_wire_ext_controls) == 32);
static_assert(sizeof(struct vmc_wire_ext_control) == 20);

/* Largest input or output index accepted from G_INPUT or G_OUTPUT. */
#define VMC_MAX_INPUTS 64

bool vmc_session_dead(struct vmc_session *s)
{
	return READ_ONCE(s->dead);
}

/* ---- commands on a session --------------------------------------------- */

/*
 * Forwards one ioctl: @in_len bytes of payload in the readable part,
 * @out_len bytes expected back. On success @out holds the device's answer,
 * which the caller must validate before use. When the device answers with
 * an errno and still a whole payload (ext controls report error_idx that
 * way), @out holds it too and *@err_payload is set (if not NULL).
 */
int vmc_ioctl_full(struct vmc_session *s, unsigned int nr, const void *in,
		   size_t in_len, void *out, size_t out_len, bool *err_payload)
{
	struct vmc_device *dev = s->dev;
	struct virtio_media_cmd_ioctl *req;
	const size_t resp_hdr = sizeof(struct virtio_media_resp_ioctl);
	struct vmc_cmd *cmd;
	char what[16];
	int ret;

	if (err_payload)
		*err_payload = false;

	if (vmc_session_dead(s))
		return -EIO;

	cmd = vmc_cmd_alloc(sizeof(*req) + in_len, resp_hdr + out_len);
	if (!cmd)
		return -ENOMEM;
	req = cmd->req;
	req->hdr.cmd = cpu_to_le32(VIRTIO_MEDIA_CMD_IOCTL);
	req->session_id = cpu_to_le32(s->id);
	req->code = cpu_to_le32(nr);
	if (in_len)
		memcpy(req + 1, in, in_len);

	ret = vmc_cmd_exec(dev, cmd);
	if (ret)
		goto out;
	snprintf(what, sizeof(what), "ioctl %u", nr);
	ret = vmc_cmd_status(dev, cmd, resp_hdr + out_len, what);
	if (!ret) {
		if (out_len)
			memcpy(out, (u8 *)cmd->resp + resp_hdr, out_len);
	} else if (err_payload && out_len &&
		   cmd->used >= resp_hdr + out_len &&
		   cmd->used <= cmd->resp_len &&
		   ret == -(int)le32_to_cpu(((struct virtio_media_resp_header *)
					     cmd->resp)->status)) {
		/* The device's own errno, with a whole payload. */
		memcpy(out, (u8 *)cmd->resp + resp_hdr, out_len);
		*err_payload = true;
	}
out:
	vmc_cmd_put(cmd);
	return ret;
}

int vmc_ioctl(struct vmc_session *s, unsigned int nr, const void *in,
	      size_t in_len, void *out, size_t out_len)
{
	return vmc_ioctl_full(s, nr, in, in_len, out, out_len, NULL);
}

static int vmc_session_open(struct vmc_device *dev, u32 *id)
{
	struct virtio_media_cmd_open *req;
	struct virtio_media_resp_open *resp;
	struct vmc_cmd *cmd;
	int ret;

	cmd = vmc_cmd_alloc(sizeof(*req), sizeof(*resp));
	if (!cmd)
		return -ENOMEM;
	req = cmd->req;
	req->hdr.cmd = cpu_to_le32(VIRTIO_MEDIA_CMD_OPEN);

	ret = vmc_cmd_exec(dev, cmd);
	if (!ret)
		ret = vmc_cmd_status(dev, cmd, sizeof(*resp), "OPEN");
	if (!ret) {
		resp = cmd->resp;
		*id = le32_to_cpu(resp->session_id);
	}
	vmc_cmd_put(cmd);
	return ret;
}

/*
 * Sends CLOSE for session @id without waiting for it, so that close() never
 * waits for the device. When the device returns it, vmc_detached_done()
 * releases the buffer memory the device held for @owner (0: none). If it
 * cannot be sent (device gone or broken), that memory stays referenced until
 * the device is reset.
 */
void vmc_session_close(struct vmc_device *dev, u32 id, u64 owner)
{
	struct virtio_media_cmd_close *req;
	struct vmc_cmd *cmd;

	cmd = vmc_cmd_alloc(sizeof(*req), 0);	/* no writable part */
	if (!cmd)
		return;
	req = cmd->req;
	req->hdr.cmd = cpu_to_le32(VIRTIO_MEDIA_CMD_CLOSE);
	req->session_id = cpu_to_le32(id);
	cmd->close_owner = owner;
	vmc_cmd_send_detached(dev, cmd);
	vmc_cmd_put(cmd);
}

static bool vmc_session_id_in_use(struct vmc_device *dev, u32 id)
{
	struct vmc_session *s;
	bool used = false;

	spin_lock(&dev->sess_lock);
	list_for_each_entry(s, &dev->sessions, node) {
		if (s->id == id) {
			used = true;
			break;
		}
	}
	spin_unlock(&dev->sess_lock);
	return used;
}

/*
 * A detached command came back (process context, from the detached worker):
 * - CLOSE: the device forgot the session and the buffers it held for it.
 * - OPEN whose opener was killed while waiting: the device opened a session
 *   nobody owns; it is closed again unless its id is in use (a CLOSE would
 *   end that other session).
 * Anything else was abandoned by its waiter: nothing to do.
 */
void vmc_detached_done(struct vmc_device *dev, struct vmc_cmd *cmd)
{
	const struct virtio_media_cmd_header *hdr = cmd->req;
	const struct virtio_media_resp_open *open = cmd->resp;

	if (cmd->xfer_err)
		return;		/* detached by the reset: nothing happened */
	switch (le32_to_cpu(hdr->cmd)) {
	case VIRTIO_MEDIA_CMD_CLOSE:
		if (cmd->used)
			vmc_err(dev, "CLOSE: used length %u, expected 0\n",
				cmd->used);
		if (cmd->close_owner)
			vmc_release_orphans(dev, false, cmd->close_owner);
		break;
	case VIRTIO_MEDIA_CMD_OPEN:
		if (vmc_cmd_status(dev, cmd, sizeof(*open), "OPEN") ||
		    vmc_is_removed(dev))
			break;
		if (vmc_session_id_in_use(dev, le32_to_cpu(open->session_id))) {
			vmc_err(dev, "late OPEN answer with session id %u, which is in use\n",
				le32_to_cpu(open->session_id));
			break;
		}
		vmc_session_close(dev, le32_to_cpu(open->session_id), 0);
		break;
	}
}

/* ---- file operations ----------------------------------------------------- */

static int vmc_open(struct file *file)
{
	struct vmc_device *dev = video_drvdata(file);
	struct vmc_session *s, *other;
	u32 id = 0;
	int ret;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->dev = dev;
	INIT_LIST_HEAD(&s->node);
	v4l2_fh_init(&s->fh, video_devdata(file));

	ret = vmc_session_open(dev, &id);
	if (ret)
		goto fail;

	spin_lock(&dev->sess_lock);
	list_for_each_entry(other, &dev->sessions, node) {
		if (other->id == id) {
			ret = -EIO;
			break;
		}
	}
	if (!ret) {
		s->id = id;
		s->serial = ++dev->next_serial;
		list_add_tail(&s->node, &dev->sessions);
	}
	spin_unlock(&dev->sess_lock);
	if (ret) {
		/* Closing it would close the other session: leave it. */
		vmc_err(dev, "OPEN returned session id %u, which is in use\n",
			id);
		goto fail;
	}

	vmc_fh_add(&s->fh, file);
	return 0;

fail:
	v4l2_fh_exit(&s->fh);
	kfree(s);
	return ret;
}

static int vmc_release(struct file *file)
{
	struct vmc_session *s = vmc_file_session(file);
	struct vmc_device *dev = s->dev;

	mutex_lock(&dev->vlock);
	/*
	 * As vb2_fop_release(): the owner's close stops and frees the queue.
	 * No STREAMOFF is sent for it (closing): the CLOSE below makes the
	 * device drop everything it holds for the session, and close() must
	 * not wait for the device.
	 */
	if (dev->queue.owner == file->private_data) {
		s->closing = true;
		dev->cur = s;
		vb2_queue_release(&dev->queue);
		dev->queue.owner = NULL;
		dev->cur = NULL;
	}

	/*
	 * Leave the list before CLOSE: once the device has processed CLOSE it
	 * may hand the id to a new session.
	 */
	spin_lock(&dev->sess_lock);
	list_del_init(&s->node);
	spin_unlock(&dev->sess_lock);
	vmc_queue_session_gone(dev, s->id);

	/*
	 * Exactly one CLOSE, also for a session that got EVT_ERROR. Sent under
	 * vlock, so every later command of another session queues behind it.
	 */
	vmc_session_close(dev, s->id, s->serial);
	mutex_unlock(&dev->vlock);

	vmc_fh_del(&s->fh, file);
	v4l2_fh_exit(&s->fh);
	kfree(s);
	return 0;
}

const struct v4l2_file_operations vmc_capture_fops = {
	.owner = THIS_MODULE,
	.open = vmc_open,
	.release = vmc_release,
	.unlocked_ioctl = video_ioctl2,
	.mmap = vb2_fop_mmap,
	.poll = vb2_fop_poll,
};

/*
 * An output node also takes frames by write() (V4L2_CAP_READWRITE): ffmpeg's
 * v4l2 output writes each frame that way. vb2 emulates it with its own
 * buffers, so write() and poll(), which may start that emulation, go
 * through wrappers that tell the vb2 operations which session acts.
 */
const struct v4l2_file_operations vmc_output_fops = {
	.owner = THIS_MODULE,
	.open = vmc_open,
	.release = vmc_release,
	.unlocked_ioctl = video_ioctl2,
	.mmap = vb2_fop_mmap,
	.poll = vmc_output_poll,
	.write = vmc_write,
};

/* ---- formats ------------------------------------------------------------- */

static bool vmc_fmt_supported(u32 fourcc)
{
	return fourcc == V4L2_PIX_FMT_YUYV || fourcc == V4L2_PIX_FMT_NV12 ||
	       fourcc == V4L2_PIX_FMT_YUV420;
}

static bool vmc_fmt_cached(struct vmc_device *dev, u32 fourcc)
{
	unsigned int i;

	for (i = 0; i < dev->nfmts; i++)
		if (dev->fmts[i] == fourcc)
			return true;
	return false;
}

static void vmc_fmt_remember(struct vmc_device *dev, u32 fourcc)
{
	if (!vmc_fmt_cached(dev, fourcc) && dev->nfmts < VMC_MAX_FORMATS)
		dev->fmts[dev->nfmts++] = fourcc;
}

/* ENUM_FMT entry @index from the device, validated. */
static int vmc_enum_fmt_dev(struct vmc_session *s, u32 index,
			    struct v4l2_fmtdesc *out)
{
	struct vmc_device *dev = s->dev;
	struct v4l2_fmtdesc req = {
		.index = index,
		.type = dev->buf_type,
	};
	int ret;

	ret = vmc_ioctl(s, _IOC_NR(VIDIOC_ENUM_FMT), &req, sizeof(req),
			out, sizeof(*out));
	if (ret)
		return ret;
	if (out->index != index || out->type != req.type) {
		vmc_err(dev, "ENUM_FMT: answer for index %u type %u, asked %u\n",
			out->index, out->type, index);
		return -EIO;
	}
	if (!vmc_fmt_supported(out->pixelformat)) {
		vmc_err(dev, "ENUM_FMT: unsupported pixel format 0x%08x\n",
			out->pixelformat);
		return -EIO;
	}
	out->description[sizeof(out->description) - 1] = '\0';
	vmc_fmt_remember(dev, out->pixelformat);
	return 0;
}

/*
 * Succeeds when @fourcc is among the formats ENUM_FMT reports. The first
 * time a format is not known, the whole list is enumerated once.
 */
static int vmc_fmt_check_known(struct vmc_session *s, u32 fourcc)
{
	struct vmc_device *dev = s->dev;
	struct v4l2_fmtdesc d;
	unsigned int i;
	int ret;

	if (vmc_fmt_cached(dev, fourcc))
		return 0;
	if (!dev->fmts_complete) {
		for (i = 0; i < VMC_MAX_FORMATS; i++) {
			ret = vmc_enum_fmt_dev(s, i, &d);
			if (ret == -EINVAL)
				break;
			if (ret)
				return ret;
		}
		dev->fmts_complete = true;
		if (vmc_fmt_cached(dev, fourcc))
			return 0;
	}
	vmc_err(dev, "pixel format 0x%08x is not one ENUM_FMT reports\n",
		fourcc);
	return -EIO;
}

/*
 * Validates a v4l2_format answer and writes the part user space sees into
 * @f, everything else zeroed.
 */
static int vmc_check_format(struct vmc_session *s, const struct v4l2_format *ans,
			    struct v4l2_format *f, const char *what)
{
	const struct v4l2_pix_format *p = &ans->fmt.pix;
	struct vmc_device *dev = s->dev;
	u64 bpl, size;
	int ret;

	if (ans->type != dev->buf_type)
		goto bad;
	if (!p->width || !p->height || p->width > VMC_MAX_DIM ||
	    p->height > VMC_MAX_DIM || p->field != V4L2_FIELD_NONE)
		goto bad;
	switch (p->pixelformat) {
	case V4L2_PIX_FMT_YUYV:
		bpl = 2ULL * p->width;
		size = bpl * p->height;
		break;
	case V4L2_PIX_FMT_NV12:
	case V4L2_PIX_FMT_YUV420:
		bpl = p->width;
		size = (u64)p->width * p->height * 3 / 2;
		break;
	default:
		goto bad;
	}
	if (p->bytesperline != bpl || p->sizeimage != size)
		goto bad;
	if (p->colorspace > V4L2_COLORSPACE_DCI_P3 ||
	    p->ycbcr_enc > V4L2_YCBCR_ENC_SMPTE240M ||
	    p->quantization > V4L2_QUANTIZATION_LIM_RANGE ||
	    p->xfer_func > V4L2_XFER_FUNC_SMPTE2084)
		goto bad;
	ret = vmc_fmt_check_known(s, p->pixelformat);
	if (ret)
		return ret;

	memset(&f->fmt, 0, sizeof(f->fmt));
	f->type = dev->buf_type;
	f->fmt.pix.width = p->width;
	f->fmt.pix.height = p->height;
	f->fmt.pix.pixelformat = p->pixelformat;
	f->fmt.pix.field = V4L2_FIELD_NONE;
	f->fmt.pix.bytesperline = p->bytesperline;
	f->fmt.pix.sizeimage = p->sizeimage;
	f->fmt.pix.colorspace = p->colorspace;
	f->fmt.pix.priv = V4L2_PIX_FMT_PRIV_MAGIC;
	f->fmt.pix.ycbcr_enc = p->ycbcr_enc;
	f->fmt.pix.quantization = p->quantization;
	f->fmt.pix.xfer_func = p->xfer_func;
	return 0;

bad:
	vmc_err(dev,
		"%s: invalid format (type %u, %ux%u, 0x%08x, field %u, bpl %u, size %u)\n",
		what, ans->type, p->width, p->height, p->pixelformat, p->field,
		p->bytesperline, p->sizeimage);
	return -EIO;
}

/* The current format, validated (also used by queue_setup). */
int vmc_get_format(struct vmc_session *s, struct v4l2_format *f)
{
	struct v4l2_format req = { .type = s->dev->buf_type };
	struct v4l2_format ans;
	int ret;

	ret = vmc_ioctl(s, _IOC_NR(VIDIOC_G_FMT), &req, sizeof(req),
			&ans, sizeof(ans));
	if (ret)
		return ret;
	return vmc_check_format(s, &ans, f, "G_FMT");
}

static int vmc_set_format(struct file *file, struct v4l2_format *f,
			  unsigned int nr, const char *what)
{
	struct vmc_session *s = vmc_file_session(file);
	struct v4l2_format req = { .type = f->type };
	struct v4l2_format ans;
	int ret;

	req.fmt.pix = f->fmt.pix;
	ret = vmc_ioctl(s, nr, &req, sizeof(req), &ans, sizeof(ans));
	if (ret)
		return ret;
	return vmc_check_format(s, &ans, f, what);
}

/* ---- ioctl operations ---------------------------------------------------- */

static int vmc_querycap(struct file *file, void *priv,
			struct v4l2_capability *cap)
{
	struct vmc_device *dev = video_drvdata(file);

	strscpy(cap->driver, VMC_CAP_DRIVER_NAME, sizeof(cap->driver));
	strscpy(cap->card, dev->card, sizeof(cap->card));
	strscpy(cap->bus_info, dev->bus_info, sizeof(cap->bus_info));
	return 0;
}

/* ENUM_FMT on the node's one buffer type (the core checked the type). */
static int vmc_enum_fmt(struct file *file, void *priv, struct v4l2_fmtdesc *f)
{
	struct v4l2_fmtdesc ans;
	int ret;

	ret = vmc_enum_fmt_dev(vmc_file_session(file), f->index, &ans);
	if (ret)
		return ret;
	f->flags = 0;
	memcpy(f->description, ans.description, sizeof(f->description));
	f->pixelformat = ans.pixelformat;
	memset(f->reserved, 0, sizeof(f->reserved));
	return 0;
}

/* G/S/TRY_FMT on the node's one buffer type (the core checked the type). */
static int vmc_g_fmt(struct file *file, void *priv, struct v4l2_format *f)
{
	return vmc_get_format(vmc_file_session(file), f);
}

static int vmc_s_fmt(struct file *file, void *priv, struct v4l2_format *f)
{
	return vmc_set_format(file, f, _IOC_NR(VIDIOC_S_FMT), "S_FMT");
}

static int vmc_try_fmt(struct file *file, void *priv, struct v4l2_format *f)
{
	return vmc_set_format(file, f, _IOC_NR(VIDIOC_TRY_FMT), "TRY_FMT");
}

static bool vmc_dim_ok(u32 v)
{
	return v >= 1 && v <= VMC_MAX_DIM;
}

static int vmc_enum_framesizes(struct file *file, void *priv,
			       struct v4l2_frmsizeenum *fs)
{
	struct vmc_session *s = vmc_file_session(file);
	struct v4l2_frmsizeenum req = {
		.index = fs->index,
		.pixel_format = fs->pixel_format,
	};
	const struct v4l2_frmsize_stepwise *sw;
	struct v4l2_frmsizeenum ans;
	int ret;

	ret = vmc_ioctl(s, _IOC_NR(VIDIOC_ENUM_FRAMESIZES), &req, sizeof(req),
			&ans, sizeof(ans));
	if (ret)
		return ret;
	if (ans.index != req.index || ans.pixel_format != req.pixel_format)
		goto bad;
	switch (ans.type) {
	case V4L2_FRMSIZE_TYPE_DISCRETE:
		if (!vmc_dim_ok(ans.discrete.width) ||
		    !vmc_dim_ok(ans.discrete.height))
			goto bad;
		break;
	case V4L2_FRMSIZE_TYPE_CONTINUOUS:
	case V4L2_FRMSIZE_TYPE_STEPWISE:
		sw = &ans.stepwise;
		if (!vmc_dim_ok(sw->min_width) || !vmc_dim_ok(sw->max_width) ||
		    !vmc_dim_ok(sw->min_height) ||
		    !vmc_dim_ok(sw->max_height) ||
		    sw->min_width > sw->max_width ||
		    sw->min_height > sw->max_height ||
		    !sw->step_width || !sw->step_height)
			goto bad;
		if (ans.type == V4L2_FRMSIZE_TYPE_CONTINUOUS &&
		    (sw->step_width != 1 || sw->step_height != 1))
			goto bad;
		break;
	default:
		goto bad;
	}
	ret = vmc_fmt_check_known(s, ans.pixel_format);
	if (ret)
		return ret;

	fs->type = ans.type;
	memset(&fs->stepwise, 0, sizeof(fs->stepwise));
	if (ans.type == V4L2_FRMSIZE_TYPE_DISCRETE)
		fs->discrete = ans.discrete;
	else
		fs->stepwise = ans.stepwise;
	memset(fs->reserved, 0, sizeof(fs->reserved));
	return 0;

bad:
	vmc_err(s->dev, "ENUM_FRAMESIZES: invalid answer for index %u\n",
		req.index);
	return -EIO;
}

static bool vmc_fract_ok(const struct v4l2_fract *f)
{
	return f->numerator && f->denominator;
}

static int vmc_enum_frameintervals(struct file *file, void *priv,
				   struct v4l2_frmivalenum *fi)
{
	struct vmc_session *s = vmc_file_session(file);
	struct v4l2_frmivalenum req = {
		.index = fi->index,
		.pixel_format = fi->pixel_format,
		.width = fi->width,
		.height = fi->height,
	};
	struct v4l2_frmivalenum ans;
	int ret;

	ret = vmc_ioctl(s, _IOC_NR(VIDIOC_ENUM_FRAMEINTERVALS), &req,
			sizeof(req), &ans, sizeof(ans));
	if (ret)
		return ret;
	if (ans.index != req.index || ans.pixel_format != req.pixel_format ||
	    ans.width != req.width || ans.height != req.height)
		goto bad;
	switch (ans.type) {
	case V4L2_FRMIVAL_TYPE_DISCRETE:
		if (!vmc_fract_ok(&ans.discrete))
			goto bad;
		break;
	case V4L2_FRMIVAL_TYPE_CONTINUOUS:
	case V4L2_FRMIVAL_TYPE_STEPWISE:
		if (!vmc_fract_ok(&ans.stepwise.min) ||
		    !vmc_fract_ok(&ans.stepwise.max) ||
		    !vmc_fract_ok(&ans.stepwise.step))
			goto bad;
		break;
	default:
		goto bad;
	}
	ret = vmc_fmt_check_known(s, ans.pixel_format);
	if (ret)
		return ret;

	fi->type = ans.type;
	memset(&fi->stepwise, 0, sizeof(fi->stepwise));
	if (ans.type == V4L2_FRMIVAL_TYPE_DISCRETE)
		fi->discrete = ans.discrete;
	else
		fi->stepwise = ans.stepwise;
	memset(fi->reserved, 0, sizeof(fi->reserved));
	return 0;

bad:
	vmc_err(s->dev, "ENUM_FRAMEINTERVALS: invalid answer for index %u\n",
		req.index);
	return -EIO;
}

static int vmc_parm_answer(struct vmc_session *s,
			   const struct v4l2_streamparm *ans,
			   struct v4l2_streamparm *a, const char *what)
{
	const struct v4l2_captureparm *c = &ans->parm.capture;
	const struct v4l2_outputparm *o = &ans->parm.output;
	bool output = s->dev->output;
	const struct v4l2_fract *tpf_val = output ? &o->timeperframe :
						    &c->timeperframe;
	u32 tpf = (output ? o->capability : c->capability) &
		  V4L2_CAP_TIMEPERFRAME;

	if (ans->type != s->dev->buf_type ||
	    (tpf && !vmc_fract_ok(tpf_val))) {
		vmc_err(s->dev, "%s: invalid answer (type %u, %u/%u)\n", what,
			ans->type, tpf_val->numerator, tpf_val->denominator);
		return -EIO;
	}
	/* Reserved fields zero. */
	memset(&a->parm, 0, sizeof(a->parm));
	if (output) {
		a->parm.output.capability = tpf;
		a->parm.output.outputmode = o->outputmode &
					    V4L2_MODE_HIGHQUALITY;
		if (tpf)
			a->parm.output.timeperframe = o->timeperframe;
		/* What vb2's write() emulation uses, not the device's. */
		a->parm.output.writebuffers = VMC_WRITE_BUFFERS;
	} else {
		/* No read() support: readbuffers stays 0. */
		a->parm.capture.capability = tpf;
		a->parm.capture.capturemode = c->capturemode &
					      V4L2_MODE_HIGHQUALITY;
		if (tpf)
			a->parm.capture.timeperframe = c->timeperframe;
	}
	return 0;
}

static int vmc_g_parm(struct file *file, void *priv,
		      struct v4l2_streamparm *a)
{
	struct vmc_session *s = vmc_file_session(file);
	struct v4l2_streamparm req = { .type = a->type };
	struct v4l2_streamparm ans;
	int ret;

	ret = vmc_ioctl(s, _IOC_NR(VIDIOC_G_PARM), &req, sizeof(req),
			&ans, sizeof(ans));
	if (ret)
		return ret;
	return vmc_parm_answer(s, &ans, a, "G_PARM");
}

static int vmc_s_parm(struct file *file, void *priv,
		      struct v4l2_streamparm *a)
{
	struct vmc_session *s = vmc_file_session(file);
	struct v4l2_streamparm req = { .type = a->type };
	struct v4l2_streamparm ans;
	int ret;

	if (s->dev->output) {
		req.parm.output.outputmode = a->parm.output.outputmode;
		req.parm.output.timeperframe = a->parm.output.timeperframe;
	} else {
		req.parm.capture.capturemode = a->parm.capture.capturemode;
		req.parm.capture.timeperframe = a->parm.capture.timeperframe;
	}
	ret = vmc_ioctl(s, _IOC_NR(VIDIOC_S_PARM), &req, sizeof(req),
			&ans, sizeof(ans));
	if (ret)
		return ret;
	return vmc_parm_answer(s, &ans, a, "S_PARM");
}

#define VMC_INPUT_STATUS (V4L2_IN_ST_NO_POWER | V4L2_IN_ST_NO_SIGNAL | \
			  V4L2_IN_ST_NO_COLOR | V4L2_IN_ST_HFLIP | \
			  V4L2_IN_ST_VFLIP)

/* v4l2_input and v4l2_output begin alike: index, name[32], type. */
struct vmc_io_head {
	__u32 index;
	__u8 name[32];
	__u32 type;
};
static_assert(offsetof(struct v4l2_input, type) ==
	      offsetof(struct vmc_io_head, type));
static_assert(offsetof(struct v4l2_output, type) ==
	      offsetof(struct vmc_io_head, type));

/*
 * ENUMINPUT or ENUMOUTPUT: the device's entry @index into @ans (@len bytes),
 * checked to echo the index and be of @type, its name NUL-terminated.
 */
static int vmc_enum_io(struct file *file, unsigned int nr, const char *what,
		       u32 index, u32 type, void *ans, size_t len)
{
	struct vmc_session *s = vmc_file_session(file);
	struct vmc_io_head *head = ans;
	int ret;

	memset(ans, 0, len);
	head->index = index;
	ret = vmc_ioctl(s, nr, ans, len, ans, len);
	if (ret)
		return ret;
	if (head->index != index || head->type != type) {
		vmc_err(s->dev, "%s: invalid answer (index %u, type %u)\n",
			what, head->index, head->type);
		return -EIO;
	}
	head->name[sizeof(head->name) - 1] = '\0';
	return 0;
}

static int vmc_enum_input(struct file *file, void *priv,
			  struct v4l2_input *inp)
{
	struct v4l2_input ans;
	int ret;

	ret = vmc_enum_io(file, _IOC_NR(VIDIOC_ENUMINPUT), "ENUMINPUT",
			  inp->index, V4L2_INPUT_TYPE_CAMERA, &ans, sizeof(ans));
	if (ret)
		return ret;
	/*
	 * Only what this node supports: no audio, tuner, standards or
	 * timings ioctls exist here, so those fields stay zero.
	 */
	memset(inp, 0, sizeof(*inp));
	inp->index = ans.index;
	strscpy(inp->name, ans.name[0] ? (char *)ans.name : "Camera",
		sizeof(inp->name));
	inp->type = V4L2_INPUT_TYPE_CAMERA;
	inp->status = ans.status & VMC_INPUT_STATUS;
	return 0;
}

static int vmc_enum_output(struct file *file, void *priv,
			   struct v4l2_output *out)
{
	struct v4l2_output ans;
	int ret;

	ret = vmc_enum_io(file, _IOC_NR(VIDIOC_ENUMOUTPUT), "ENUMOUTPUT",
			  out->index, V4L2_OUTPUT_TYPE_ANALOG, &ans, sizeof(ans));
	if (ret)
		return ret;
	/* As for inputs: no audio, modulator, standards or timings here. */
	memset(out, 0, sizeof(*out));
	out->index = ans.index;
	strscpy(out->name, ans.name[0] ? (char *)ans.name : "Camera VM",
		sizeof(out->name));
	out->type = V4L2_OUTPUT_TYPE_ANALOG;
	return 0;
}

/*
 * G_INPUT or G_OUTPUT: the index, below VMC_MAX_INPUTS. Both are _IOR: the
 * readable part has nothing but the header.
 */
static int vmc_get_index(struct file *file, unsigned int nr, const char *what,
			 unsigned int *i)
{
	struct vmc_session *s = vmc_file_session(file);
	__le32 ans;
	u32 v;
	int ret;

	ret = vmc_ioctl(s, nr, NULL, 0, &ans, sizeof(ans));
	if (ret)
		return ret;
	v = le32_to_cpu(ans);
	if (v >= VMC_MAX_INPUTS) {
		vmc_err(s->dev, "%s: invalid index %u\n", what, v);
		return -EIO;
	}
	*i = v;
	return 0;
}

/* S_INPUT or S_OUTPUT: the answer echoes the index. */
static int vmc_set_index(struct file *file, unsigned int nr, const char *what,
			 unsigned int i)
{
	struct vmc_session *s = vmc_file_session(file);
	__le32 req = cpu_to_le32(i), ans;
	int ret;

	ret = vmc_ioctl(s, nr, &req, sizeof(req), &ans, sizeof(ans));
	if (ret)
		return ret;
	if (le32_to_cpu(ans) != i) {
		vmc_err(s->dev, "%s: asked %u, answer %u\n", what, i,
			le32_to_cpu(ans));
		return -EIO;
	}
	return 0;
}

static int vmc_g_input(struct file *file, void *priv, unsigned int *i)
{
	return vmc_get_index(file, _IOC_NR(VIDIOC_G_INPUT), "G_INPUT", i);
}

static int vmc_s_input(struct file *file, void *priv, unsigned int i)
{
	return vmc_set_index(file, _IOC_NR(VIDIOC_S_INPUT), "S_INPUT", i);
}

static int vmc_g_output(struct file *file, void *priv, unsigned int *i)
{
	return vmc_get_index(file, _IOC_NR(VIDIOC_G_OUTPUT), "G_OUTPUT", i);
}

static int vmc_s_output(struct file *file, void *priv, unsigned int i)
{
	return vmc_set_index(file, _IOC_NR(VIDIOC_S_OUTPUT), "S_OUTPUT", i);
}

/* What both nodes serve alike, whatever their buffer type. */
#define VMC_COMMON_IOCTL_OPS \
	.vidioc_querycap = vmc_querycap, \
	.vidioc_enum_framesizes = vmc_enum_framesizes, \
	.vidioc_enum_frameintervals = vmc_enum_frameintervals, \
	.vidioc_g_parm = vmc_g_parm, \
	.vidioc_s_parm = vmc_s_parm, \
	.vidioc_reqbufs = vmc_vidioc_reqbufs, \
	.vidioc_create_bufs = vmc_vidioc_create_bufs, \
	.vidioc_prepare_buf = vmc_vidioc_prepare_buf, \
	.vidioc_querybuf = vmc_vidioc_querybuf, \
	.vidioc_qbuf = vmc_vidioc_qbuf, \
	.vidioc_dqbuf = vmc_vidioc_dqbuf, \
	.vidioc_expbuf = vmc_vidioc_expbuf, \
	.vidioc_streamon = vmc_vidioc_streamon, \
	.vidioc_streamoff = vmc_vidioc_streamoff,

const struct v4l2_ioctl_ops vmc_capture_ioctl_ops = {
	VMC_COMMON_IOCTL_OPS
	.vidioc_enum_fmt_vid_cap = vmc_enum_fmt,
	.vidioc_g_fmt_vid_cap = vmc_g_fmt,
	.vidioc_s_fmt_vid_cap = vmc_s_fmt,
	.vidioc_try_fmt_vid_cap = vmc_try_fmt,
	.vidioc_enum_input = vmc_enum_input,
	.vidioc_g_input = vmc_g_input,
	.vidioc_s_input = vmc_s_input,
};

/*
 * The output node: the same format, parameter and buffer ioctls on the
 * VIDEO_OUTPUT type, outputs instead of inputs, and the device's controls
 * with their events (vmc_ctrl.c). The legacy QUERYCTRL op exists only before
 * 6.15 (VMC_QUERYCTRL_OP); G_CTRL and S_CTRL reach the ext-controls ops
 * through the core on every kernel.
 */
const struct v4l2_ioctl_ops vmc_output_ioctl_ops = {
	VMC_COMMON_IOCTL_OPS
	.vidioc_enum_fmt_vid_out = vmc_enum_fmt,
	.vidioc_g_fmt_vid_out = vmc_g_fmt,
	.vidioc_s_fmt_vid_out = vmc_s_fmt,
	.vidioc_try_fmt_vid_out = vmc_try_fmt,
	.vidioc_enum_output = vmc_enum_output,
	.vidioc_g_output = vmc_g_output,
	.vidioc_s_output = vmc_s_output,
	VMC_QUERYCTRL_OP
	.vidioc_query_ext_ctrl = vmc_query_ext_ctrl,
	.vidioc_g_ext_ctrls = vmc_g_ext_ctrls,
	.vidioc_s_ext_ctrls = vmc_s_ext_ctrls,
	.vidioc_try_ext_ctrls = vmc_try_ext_ctrls,
	.vidioc_subscribe_event = vmc_subscribe_event,
	.vidioc_unsubscribe_event = vmc_unsubscribe_event,
};
