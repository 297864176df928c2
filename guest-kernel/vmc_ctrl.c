// SPDX-License-Identifier: GPL-2.0
/*
 * Spectrum Camera: virtio-media capture and output driver.
 * The output node's controls and their events.
 *
 * The controls are the device's, passed through per open file, not mirrored
 * in a v4l2_ctrl_handler. A mirror would need a device session of the
 * driver's own from probe on and a walk of the device's controls at probe,
 * and it would go stale when the device restarts (its sessions are gone)
 * until the driver is reloaded; the device also sends control events only to
 * the sessions that subscribed. Passed through, each file's subscriptions
 * live in its own session, where the device sends their events, probe talks
 * to the device no more than before, and a restarted device is followed at
 * the next open. In exchange every answer is checked here against what the
 * kernel's control framework itself would produce:
 *  - only controls whose value is in the structure (integer, boolean,
 *    integer64, button, class), with limits, flags and ids that agree;
 *  - ext-controls answers that echo the request, with error_idx in range;
 *  - V4L2_EVENT_CTRL events with the same checks, rebuilt field by field.
 * QUERYCTRL is answered from QUERY_EXT_CTRL (by the core from 6.15 on, by
 * vmc_queryctrl() before) and G_CTRL/S_CTRL come through the ext-controls
 * ops (the core converts them on every kernel), so the device sees only
 * QUERY_EXT_CTRL, G/S/TRY_EXT_CTRLS and (UN)SUBSCRIBE_EVENT.
 */

#include <linux/slab.h>
#include <linux/string.h>
#include <media/v4l2-ctrls.h>
#include <media/v4l2-event.h>
#include <media/v4l2-ioctl.h>

#include "vmc.h"

/* The flags a control of the supported types may have. */
#define VMC_CTRL_FLAGS (V4L2_CTRL_FLAG_DISABLED | V4L2_CTRL_FLAG_GRABBED | \
			V4L2_CTRL_FLAG_READ_ONLY | V4L2_CTRL_FLAG_UPDATE | \
			V4L2_CTRL_FLAG_INACTIVE | V4L2_CTRL_FLAG_SLIDER | \
			V4L2_CTRL_FLAG_WRITE_ONLY | V4L2_CTRL_FLAG_VOLATILE | \
			V4L2_CTRL_FLAG_EXECUTE_ON_WRITE)
#define VMC_CTRL_CHANGES (V4L2_EVENT_CTRL_CH_VALUE | V4L2_EVENT_CTRL_CH_FLAGS | \
			  V4L2_EVENT_CTRL_CH_RANGE)
/*
 * Events kept per subscription until read: two, the newer merged into the
 * older when they overflow, as the control framework keeps them.
 */
#define VMC_CTRL_EVENT_ELEMS 2

static const struct v4l2_subscribed_event_ops vmc_ctrl_event_ops = {
	.replace = v4l2_ctrl_replace,
	.merge = v4l2_ctrl_merge,
};

static bool vmc_ctrl_type_ok(u32 type)
{
	switch (type) {
	case V4L2_CTRL_TYPE_INTEGER:
	case V4L2_CTRL_TYPE_BOOLEAN:
	case V4L2_CTRL_TYPE_BUTTON:
	case V4L2_CTRL_TYPE_INTEGER64:
	case V4L2_CTRL_TYPE_CTRL_CLASS:
		return true;
	default:
		return false;
	}
}

/* The limits the control framework accepts for a control of @type. */
static bool vmc_ctrl_range_ok(u32 type, s64 min, s64 max, u64 step, s64 def)
{
	switch (type) {
	case V4L2_CTRL_TYPE_BUTTON:
	case V4L2_CTRL_TYPE_CTRL_CLASS:
		return !min && !max && !step && !def;
	case V4L2_CTRL_TYPE_BOOLEAN:
		if (min < 0 || max > 1 || step != 1)
			return false;
		break;
	case V4L2_CTRL_TYPE_INTEGER:
		if (min < S32_MIN || max > S32_MAX || step > S32_MAX)
			return false;
		break;
	}
	return step && min <= max && def >= min && def <= max;
}

/* ---- QUERY_EXT_CTRL, QUERYCTRL ----------------------------------------------- */

int vmc_query_ext_ctrl(struct file *file, void *priv,
		       struct v4l2_query_ext_ctrl *qec)
{
	struct vmc_session *s = vmc_file_session(file);
	u32 asked = qec->id, want = asked & V4L2_CTRL_ID_MASK;
	struct v4l2_query_ext_ctrl req = { .id = asked };
	struct v4l2_query_ext_ctrl ans;
	bool next = asked & V4L2_CTRL_FLAG_NEXT_CTRL;
	bool ok;
	int ret;

	/*
	 * NEXT_COMPOUND alone asks for the next compound control: there are
	 * none here (this driver passes no payload pointers).
	 */
	if ((asked & V4L2_CTRL_FLAG_NEXT_COMPOUND) && !next)
		return -EINVAL;

	ret = vmc_ioctl(s, _IOC_NR(VIDIOC_QUERY_EXT_CTRL), &req, sizeof(req),
			&ans, sizeof(ans));
	if (ret)
		return ret;

	ok = next ? ans.id > want && ans.id <= V4L2_CTRL_ID_MASK :
		    ans.id == asked;
	ok = ok && vmc_ctrl_type_ok(ans.type) &&
	     !(ans.flags & ~VMC_CTRL_FLAGS) &&
	     vmc_ctrl_range_ok(ans.type, ans.minimum, ans.maximum, ans.step,
			       ans.default_value);
	/* A class control's id is its class with 1 in the low bits. */
	if (ans.type == V4L2_CTRL_TYPE_CTRL_CLASS)
		ok = ok && ans.id == (V4L2_CTRL_ID2WHICH(ans.id) | 1);
	if (!ok) {
		vmc_err(s->dev, "QUERY_EXT_CTRL 0x%08x: invalid answer (id 0x%08x, type %u, flags 0x%x, %lld..%lld step %llu default %lld)\n",
			asked, ans.id, ans.type, ans.flags, ans.minimum,
			ans.maximum, ans.step, ans.default_value);
		return -EIO;
	}

	memset(qec, 0, sizeof(*qec));
	qec->id = ans.id;
	qec->type = ans.type;
	ans.name[sizeof(ans.name) - 1] = '\0';
	strscpy(qec->name, ans.name, sizeof(qec->name));
	qec->minimum = ans.minimum;
	qec->maximum = ans.maximum;
	qec->step = ans.step;
	qec->default_value = ans.default_value;
	qec->flags = ans.flags;
	/* One element of the type's own size, as the control framework says. */
	qec->elem_size = ans.type == V4L2_CTRL_TYPE_INTEGER64 ? sizeof(s64) :
							       sizeof(s32);
	qec->elems = 1;
	return 0;
}

#if VMC_HAVE_QUERYCTRL_OP
/* The conversion the core itself does from 6.15 on. */
int vmc_queryctrl(struct file *file, void *priv, struct v4l2_queryctrl *qc)
{
	struct v4l2_query_ext_ctrl qec = { .id = qc->id };
	int ret;

	ret = vmc_query_ext_ctrl(file, priv, &qec);
	if (ret)
		return ret;
	memset(qc, 0, sizeof(*qc));
	qc->id = qec.id;
	qc->type = qec.type;
	qc->flags = qec.flags;
	strscpy(qc->name, qec.name, sizeof(qc->name));
	/* The old structure has 32-bit limits: only these types carry them. */
	if (qec.type == V4L2_CTRL_TYPE_INTEGER ||
	    qec.type == V4L2_CTRL_TYPE_BOOLEAN) {
		qc->minimum = qec.minimum;
		qc->maximum = qec.maximum;
		qc->step = qec.step;
		qc->default_value = qec.default_value;
	}
	return 0;
}
#endif

/* ---- G/S/TRY_EXT_CTRLS -------------------------------------------------------- */

/*
 * Forwards an ext-controls call whose controls the core has copied into
 * the kernel (and whose which/class it has checked). Each control travels
 * with its value; a control the application passes with a payload pointer
 * (size > 0) travels without it, and its pointer is never written back.
 */
static int vmc_ext_ctrls(struct file *file, struct v4l2_ext_controls *c,
			 unsigned int nr, const char *what)
{
	struct vmc_session *s = vmc_file_session(file);
	struct vmc_wire_ext_controls *req, *ans;
	struct vmc_wire_ext_control *rc, *ac;
	u32 i, n = c->count, idx;
	bool payload;
	size_t len;
	u8 *mem;
	int ret;

	if (n > VMC_MAX_EXT_CTRLS) {
		c->error_idx = n;
		return -EINVAL;
	}
	len = sizeof(*req) + (size_t)n * sizeof(*rc);
	mem = kzalloc(2 * len, GFP_KERNEL);
	if (!mem)
		return -ENOMEM;
	req = (struct vmc_wire_ext_controls *)mem;
	ans = (struct vmc_wire_ext_controls *)(mem + len);
	rc = (struct vmc_wire_ext_control *)(req + 1);
	ac = (struct vmc_wire_ext_control *)(ans + 1);

	req->which = cpu_to_le32(c->which);
	req->count = cpu_to_le32(n);
	for (i = 0; i < n; i++) {
		rc[i].id = cpu_to_le32(c->controls[i].id);
		if (!c->controls[i].size)
			rc[i].value64 = cpu_to_le64(c->controls[i].value64);
	}

	ret = vmc_ioctl_full(s, nr, req, len, ans, len, &payload);
	if (ret && !payload)
		goto out;

	idx = le32_to_cpu(ans->error_idx);
	if (le32_to_cpu(ans->count) != n ||
	    le32_to_cpu(ans->which) != c->which || idx > n)
		goto bad;
	for (i = 0; i < n; i++)
		if (ac[i].id != rc[i].id)
			goto bad;

	c->error_idx = idx;
	if (!ret)
		for (i = 0; i < n; i++)
			if (!c->controls[i].size)
				c->controls[i].value64 =
					le64_to_cpu(ac[i].value64);
	goto out;

bad:
	vmc_err(s->dev, "%s: invalid answer (count %u of %u, error_idx %u)\n",
		what, le32_to_cpu(ans->count), n, idx);
	c->error_idx = n;
	ret = -EIO;
out:
	kfree(mem);
	return ret;
}

int vmc_g_ext_ctrls(struct file *file, void *priv,
		    struct v4l2_ext_controls *ctrls)
{
	return vmc_ext_ctrls(file, ctrls, _IOC_NR(VIDIOC_G_EXT_CTRLS),
			     "G_EXT_CTRLS");
}

int vmc_s_ext_ctrls(struct file *file, void *priv,
		    struct v4l2_ext_controls *ctrls)
{
	return vmc_ext_ctrls(file, ctrls, _IOC_NR(VIDIOC_S_EXT_CTRLS),
			     "S_EXT_CTRLS");
}

int vmc_try_ext_ctrls(struct file *file, void *priv,
		      struct v4l2_ext_controls *ctrls)
{
	return vmc_ext_ctrls(file, ctrls, _IOC_NR(VIDIOC_TRY_EXT_CTRLS),
			     "TRY_EXT_CTRLS");
}

/* ---- subscriptions ------------------------------------------------------------- */

/* Whether @fh already subscribed to (@type, @id). */
static bool vmc_fh_subscribed(struct v4l2_fh *fh, u32 type, u32 id)
{
	struct v4l2_subscribed_event *sev;
	unsigned long flags;
	bool found = false;

	spin_lock_irqsave(&fh->vdev->fh_lock, flags);
	list_for_each_entry(sev, &fh->subscribed, list) {
		if (sev->type == type && sev->id == id) {
			found = true;
			break;
		}
	}
	spin_unlock_irqrestore(&fh->vdev->fh_lock, flags);
	return found;
}

/*
 * V4L2_EVENT_CTRL of one control. The file subscribes locally first, then
 * asks the device: the device queues the initial event (SEND_INITIAL)
 * before it answers, and the event worker may deliver it before the answer
 * comes, or only after; so after the answer the eventq is handled before
 * SUBSCRIBE returns, and DQEVENT finds the initial event at once, as with
 * the control framework. If the device refuses, the local subscription goes
 * again. A second subscription to the same control changes nothing, as in
 * V4L2.
 */
int vmc_subscribe_event(struct v4l2_fh *fh,
			const struct v4l2_event_subscription *sub)
{
	struct vmc_session *s = container_of(fh, struct vmc_session, fh);
	struct v4l2_event_subscription req = {
		.type = sub->type,
		.id = sub->id,
		.flags = sub->flags & (V4L2_EVENT_SUB_FL_SEND_INITIAL |
				       V4L2_EVENT_SUB_FL_ALLOW_FEEDBACK),
	};
	int ret;

	if (sub->type != V4L2_EVENT_CTRL)
		return -EINVAL;
	if (vmc_session_dead(s))
		return -EIO;
	if (vmc_fh_subscribed(fh, sub->type, sub->id))
		return 0;
	ret = v4l2_event_subscribe(fh, sub, VMC_CTRL_EVENT_ELEMS,
				   &vmc_ctrl_event_ops);
	if (ret)
		return ret;
	ret = vmc_ioctl(s, _IOC_NR(VIDIOC_SUBSCRIBE_EVENT), &req, sizeof(req),
			NULL, 0);
	if (ret)
		v4l2_event_unsubscribe(fh, sub);
	else if (req.flags & V4L2_EVENT_SUB_FL_SEND_INITIAL)
		vmc_event_flush(s->dev);
	return ret;
}

/*
 * Locally first, so that nothing more is delivered; then the device, which
 * stops sending (V4L2_EVENT_ALL ends every subscription).
 */
int vmc_unsubscribe_event(struct v4l2_fh *fh,
			  const struct v4l2_event_subscription *sub)
{
	struct vmc_session *s = container_of(fh, struct vmc_session, fh);
	struct v4l2_event_subscription req = {
		.type = sub->type,
		.id = sub->id,
	};
	int ret;

	ret = v4l2_event_unsubscribe(fh, sub);
	if (ret)
		return ret;
	if (sub->type != V4L2_EVENT_CTRL && sub->type != V4L2_EVENT_ALL)
		return 0;
	if (vmc_session_dead(s))
		return 0;	/* the device has forgotten the session */
	return vmc_ioctl(s, _IOC_NR(VIDIOC_UNSUBSCRIBE_EVENT), &req,
			 sizeof(req), NULL, 0);
}

/* ---- EVT_EVENT -------------------------------------------------------------------- */

/*
 * A V4L2 event from the device for session @sid (@buf is the whole eventq
 * buffer, at least VIRTIO_MEDIA_EVENT_EVENT_SIZE bytes), from the event
 * worker. Only control events are subscribed to; each is checked, rebuilt
 * from its checked fields, and queued to the session's file, where the V4L2
 * core delivers it if the file subscribed to that control, and stamps it.
 */
void vmc_ctrl_event(struct vmc_device *dev, u32 sid, const void *buf)
{
	struct v4l2_event in, ev = {};
	const struct v4l2_event_ctrl *c = &in.u.ctrl;
	struct vmc_session *s;
	bool found = false;
	const char *bad = NULL;

	memcpy(&in, (const u8 *)buf + sizeof(struct virtio_media_event_header),
	       sizeof(in));

	if (in.type != V4L2_EVENT_CTRL)
		bad = "not a control event";
	else if (!in.id || (in.id & ~V4L2_CTRL_ID_MASK))
		bad = "invalid control id";
	else if (!c->changes || (c->changes & ~VMC_CTRL_CHANGES))
		bad = "invalid changes";
	else if (!vmc_ctrl_type_ok(c->type) ||
		 c->type == V4L2_CTRL_TYPE_CTRL_CLASS)
		bad = "invalid control type";
	else if (c->flags & ~VMC_CTRL_FLAGS)
		bad = "invalid flags";
	/* The event's limits are 32-bit; a 64-bit control's do not fit. */
	else if (c->type != V4L2_CTRL_TYPE_INTEGER64 &&
		 (!vmc_ctrl_range_ok(c->type, c->minimum, c->maximum, c->step,
				     c->default_value) ||
		  (c->type != V4L2_CTRL_TYPE_BUTTON &&
		   (c->value < c->minimum || c->value > c->maximum))))
		bad = "value or limits out of range";
	if (bad) {
		vmc_err(dev, "V4L2 event for session %u (type %u, id 0x%08x): %s; dropped\n",
			sid, in.type, in.id, bad);
		return;
	}

	ev.type = V4L2_EVENT_CTRL;
	ev.id = in.id;
	ev.u.ctrl.changes = c->changes;
	ev.u.ctrl.type = c->type;
	if (c->type == V4L2_CTRL_TYPE_INTEGER64)
		ev.u.ctrl.value64 = c->value64;
	else if (c->type != V4L2_CTRL_TYPE_BUTTON)
		ev.u.ctrl.value = c->value;
	ev.u.ctrl.flags = c->flags;
	ev.u.ctrl.minimum = c->minimum;
	ev.u.ctrl.maximum = c->maximum;
	ev.u.ctrl.step = c->step;
	ev.u.ctrl.default_value = c->default_value;

	/* Sessions are freed only after they left the list (release()). */
	spin_lock(&dev->sess_lock);
	list_for_each_entry(s, &dev->sessions, node) {
		if (s->id == sid) {
			v4l2_event_queue_fh(&s->fh, &ev);
			found = true;
			break;
		}
	}
	spin_unlock(&dev->sess_lock);
	if (!found)
		vmc_warn(dev, "control event for unknown session %u dropped\n",
			 sid);
}
