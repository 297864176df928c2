/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio-media (VIRTIO device id 48) wire protocol, as used by the Spectrum
 * Camera driver.
 *
 * Every field is little-endian. V4L2 payloads use the 64-bit (LP64) layout of
 * the V4L2 UAPI structures. The driver is restricted to 64-bit little-endian
 * kernels, where the kernel's own V4L2 structures have exactly that layout,
 * so format-like payloads (v4l2_format, v4l2_fmtdesc, ...) are copied as they
 * are; the structures the driver builds or parses field by field
 * (v4l2_buffer, v4l2_requestbuffers, v4l2_create_buffers) have explicit wire
 * definitions below. Sizes and offsets are checked at compile time in
 * vmc_v4l2.c.
 */
#ifndef VMC_PROTOCOL_H
#define VMC_PROTOCOL_H

#include <linux/types.h>

#ifndef VIRTIO_ID_MEDIA
#define VIRTIO_ID_MEDIA 48
#endif

/* Commands (commandq). */
#define VIRTIO_MEDIA_CMD_OPEN	1
#define VIRTIO_MEDIA_CMD_CLOSE	2
#define VIRTIO_MEDIA_CMD_IOCTL	3
#define VIRTIO_MEDIA_CMD_MMAP	4
#define VIRTIO_MEDIA_CMD_MUNMAP	5

/* Events (eventq). */
#define VIRTIO_MEDIA_EVT_ERROR	0
#define VIRTIO_MEDIA_EVT_DQBUF	1
#define VIRTIO_MEDIA_EVT_EVENT	2

/* Device configuration space: 40 bytes. */
struct virtio_media_config {
	__le32 device_caps;
	__le32 device_type;
	__u8 card[32];
};

struct virtio_media_cmd_header {
	__le32 cmd;
	__le32 reserved;
};

struct virtio_media_resp_header {
	__le32 status;		/* 0 or a positive Linux errno */
	__le32 reserved;
};

struct virtio_media_cmd_open {
	struct virtio_media_cmd_header hdr;
};

struct virtio_media_resp_open {
	struct virtio_media_resp_header hdr;
	__le32 session_id;
	__le32 reserved;
};

/* CLOSE has no response: its chain has no device-writable part. */
struct virtio_media_cmd_close {
	struct virtio_media_cmd_header hdr;
	__le32 session_id;
	__le32 reserved;
};

/* Followed by the ioctl payload (device-readable part). */
struct virtio_media_cmd_ioctl {
	struct virtio_media_cmd_header hdr;
	__le32 session_id;
	__le32 code;		/* _IOC_NR() of the VIDIOC_* ioctl */
};

/* Followed by the ioctl payload (device-writable part). */
struct virtio_media_resp_ioctl {
	struct virtio_media_resp_header hdr;
};

/*
 * One guest-physical range of a V4L2_MEMORY_USERPTR ("shared pages") buffer.
 * The list follows the v4l2_buffer in the device-readable part only; its
 * lengths add up to exactly v4l2_buffer.length.
 */
struct virtio_media_sg_entry {
	__le64 start;
	__le32 len;
	__le32 reserved;
};

struct virtio_media_event_header {
	__le32 event;
	__le32 session_id;
};

struct virtio_media_event_error {
	struct virtio_media_event_header hdr;
	__le32 errnum;		/* positive Linux errno */
	__le32 reserved;
};

/* struct timeval in its 64-bit layout. */
struct vmc_wire_timeval {
	__le64 tv_sec;
	__le64 tv_usec;
};

/* struct v4l2_buffer, 64-bit layout: 88 bytes. */
struct vmc_wire_buffer {
	__le32 index;
	__le32 type;
	__le32 bytesused;
	__le32 flags;
	__le32 field;
	__le32 pad0;
	struct vmc_wire_timeval timestamp;
	__u8 timecode[16];
	__le32 sequence;
	__le32 memory;
	__le64 m;		/* offset / userptr / planes / fd */
	__le32 length;
	__le32 reserved2;
	__le32 request_fd;
	__le32 pad1;
};

/* struct v4l2_plane, 64-bit layout: 64 bytes (unused by a single-plane queue). */
struct vmc_wire_plane {
	__u8 raw[64];
};

#define VIRTIO_MEDIA_MAX_PLANES	8

struct virtio_media_event_dqbuf {
	struct virtio_media_event_header hdr;
	struct vmc_wire_buffer buffer;
	struct vmc_wire_plane planes[VIRTIO_MEDIA_MAX_PLANES];
};

/*
 * EVT_EVENT carries a 136-byte struct v4l2_event after the header; the
 * kernel's own struct has that layout on 64-bit (checked in vmc_v4l2.c).
 */
#define VIRTIO_MEDIA_EVENT_EVENT_SIZE	(8 + 136)

/* Every eventq buffer can hold the largest event. */
#define VIRTIO_MEDIA_EVENT_MAX_SIZE	sizeof(struct virtio_media_event_dqbuf)

/* struct v4l2_requestbuffers: 20 bytes. */
struct vmc_wire_requestbuffers {
	__le32 count;
	__le32 type;
	__le32 memory;
	__le32 capabilities;
	__u8 flags;
	__u8 reserved[3];
};

/* struct v4l2_create_buffers: 256 bytes; format is a 208-byte v4l2_format. */
struct vmc_wire_create_buffers {
	__le32 index;
	__le32 count;
	__le32 memory;
	__le32 pad0;
	__u8 format[208];
	__le32 capabilities;
	__le32 flags;
	__le32 max_num_buffers;
	__le32 reserved[5];
};

/*
 * struct v4l2_ext_controls: 32 bytes. The controls pointer is meaningless to
 * the device: the controls follow the structure in the payload, both ways.
 */
struct vmc_wire_ext_controls {
	__le32 which;
	__le32 count;
	__le32 error_idx;
	__le32 request_fd;
	__le32 reserved;
	__le32 pad0;
	__le64 controls;
};

/*
 * struct v4l2_ext_control: 20 bytes, packed. Only controls whose value is
 * in the structure itself (not behind a pointer) are exchanged; size is 0.
 */
struct vmc_wire_ext_control {
	__le32 id;
	__le32 size;
	__le32 reserved2;
	__le64 value64;
} __packed;

#endif /* VMC_PROTOCOL_H */
