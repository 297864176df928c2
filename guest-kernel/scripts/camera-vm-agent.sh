#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# camera-vm-agent.sh: the camera VM's agent. It keeps the real camera closed
# (its LED off) unless the host wants frames, and runs the camera pipeline
# into the virtio-media output node while it does.
#
# The output device (spectrum-camera serve --role producer) tells the camera
# VM whether frames are wanted through the read-only boolean control
# "Frames Wanted" (id 0x00981f00), which raises V4L2_EVENT_CTRL whenever it
# changes; while it is 1, the node's format and frame interval (G_FMT and
# G_PARM on the VIDEO_OUTPUT type) are the mode the host asked for. The agent
# waits for that event, and on each change:
#   - frames wanted, no pipeline: reads the mode and starts the pipeline, a
#     command that reads the camera and writes frames of that mode into the
#     output node (ffmpeg by default, GStreamer with --gstreamer, or yours);
#   - frames not wanted, pipeline running: stops it (SIGTERM to its process
#     group, SIGKILL after --stop-timeout), which closes the camera.
# A pipeline that dies while frames are wanted is started again, after 1 s
# and then after twice as long each time it dies again within 30 s (at most
# 30 s). The control is also read every --recheck seconds, so a change that
# happens between one event wait and the next (each wait is a fresh
# v4l2-ctl) is acted on within that time instead of being missed.
#
# POSIX sh (dash, bash, busybox ash). Needs v4l2-ctl (v4l-utils), ffmpeg or
# gst-launch-1.0 for the default pipelines, and the base tools of any Linux
# system (sed, grep, date, mkfifo, mktemp, sleep, kill; setsid from
# util-linux or busybox, without which only the pipeline's first process
# is signalled).

PROG=camera-vm-agent
CONTROL=frames_wanted

OUTPUT=
CAMERA=/dev/video0
PIPELINE=ffmpeg
COMMAND=
RECHECK=5
STOP_TIMEOUT=5

# The default pipelines, run with sh -c and the SPECTRUM_* variables below
# (expanded by that shell, not this one).
# shellcheck disable=SC2016
FFMPEG_COMMAND='exec ffmpeg -hide_banner -nostdin -loglevel warning -f v4l2 -framerate "$SPECTRUM_FPS" -video_size "${SPECTRUM_WIDTH}x${SPECTRUM_HEIGHT}" -i "$SPECTRUM_CAMERA" -vf "scale=${SPECTRUM_WIDTH}:${SPECTRUM_HEIGHT},fps=$SPECTRUM_FPS" -pix_fmt "$SPECTRUM_FFMPEG_PIX_FMT" -f v4l2 "$SPECTRUM_OUTPUT"'
# shellcheck disable=SC2016
GSTREAMER_COMMAND='exec gst-launch-1.0 -q v4l2src device="$SPECTRUM_CAMERA" ! videoconvert ! videoscale ! videorate ! "video/x-raw,format=$SPECTRUM_GST_FORMAT,width=$SPECTRUM_WIDTH,height=$SPECTRUM_HEIGHT,framerate=$SPECTRUM_FPS" ! v4l2sink device="$SPECTRUM_OUTPUT"'

usage() {
	cat <<EOF
Usage: camera-vm-agent.sh [OPTION]...

Runs in the camera VM. Starts the camera pipeline when the host wants frames
(the output node's "Frames Wanted" control is 1) and stops it, closing the
camera, when it does not. Runs until SIGTERM or SIGINT, which stop the
pipeline first.

Options:
  --output DEV        the virtio-media output node (default: the first node
                      whose driver is spectrum-camera and that is a video
                      output)
  --camera DEV        the real camera (default: /dev/video0)
  --gstreamer         use the GStreamer pipeline instead of ffmpeg
  --command CMD       use CMD as the pipeline (run with sh -c; see below)
  --recheck SECONDS   also read the control this often (default: 5)
  --stop-timeout SECONDS
                      how long a stopped pipeline may take to exit before it
                      is killed (default: 5)
  -h, --help          this help

The pipeline runs in its own session and process group with these variables:
  SPECTRUM_CAMERA, SPECTRUM_OUTPUT   the two nodes
  SPECTRUM_WIDTH, SPECTRUM_HEIGHT    the demanded size
  SPECTRUM_FOURCC                    YUYV, NV12 or YU12
  SPECTRUM_FPS                       the demanded rate as a fraction, e.g. 30/1
  SPECTRUM_FFMPEG_PIX_FMT            yuyv422, nv12 or yuv420p
  SPECTRUM_GST_FORMAT                YUY2, NV12 or I420
It must write frames of exactly that format and size into SPECTRUM_OUTPUT
(the device refuses any other) and exit on SIGTERM. The defaults:
  ffmpeg:    $FFMPEG_COMMAND
  GStreamer: $GSTREAMER_COMMAND

Log lines go to stderr, one per event: frames wanted or not, the pipeline
started (with its command), stopped, died and restarted. The pipeline's own
output goes there too.

Example (camera VM, vivid as the camera):
  modprobe vivid; camera-vm-agent.sh --camera /dev/video0 --output /dev/video2
EOF
}

log() {
	printf '%s %s: %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$PROG" "$*" >&2
}

die() {
	log "$*"
	exit 2
}

need_value() {
	[ "$2" -ge 2 ] || die "$1 needs a value (see --help)"
}

is_count() {
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
	[ "$1" -ge 1 ]
}

while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage; exit 0 ;;
	--output) need_value "$1" $#; OUTPUT=$2; shift ;;
	--output=*) OUTPUT=${1#*=} ;;
	--camera) need_value "$1" $#; CAMERA=$2; shift ;;
	--camera=*) CAMERA=${1#*=} ;;
	--command) need_value "$1" $#; COMMAND=$2; shift ;;
	--command=*) COMMAND=${1#*=} ;;
	--gstreamer) PIPELINE=gstreamer ;;
	--ffmpeg) PIPELINE=ffmpeg ;;
	--recheck) need_value "$1" $#; RECHECK=$2; shift ;;
	--recheck=*) RECHECK=${1#*=} ;;
	--stop-timeout) need_value "$1" $#; STOP_TIMEOUT=$2; shift ;;
	--stop-timeout=*) STOP_TIMEOUT=${1#*=} ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
	shift
done

is_count "$RECHECK" || die "--recheck takes a whole number of seconds, at least 1"
is_count "$STOP_TIMEOUT" || die "--stop-timeout takes a whole number of seconds, at least 1"
command -v v4l2-ctl >/dev/null 2>&1 || die "v4l2-ctl not found: install v4l-utils"
if [ -z "$COMMAND" ]; then
	if [ "$PIPELINE" = gstreamer ]; then
		COMMAND=$GSTREAMER_COMMAND
		command -v gst-launch-1.0 >/dev/null 2>&1 || die "gst-launch-1.0 not found: install gstreamer1.0-tools (or use ffmpeg, the default)"
	else
		COMMAND=$FFMPEG_COMMAND
		command -v ffmpeg >/dev/null 2>&1 || die "ffmpeg not found: install ffmpeg (or use --gstreamer)"
	fi
fi

# find_output: the first video output node of the spectrum-camera driver.
find_output() {
	for dev in /dev/video*; do
		[ -c "$dev" ] || continue
		info=$(v4l2-ctl -d "$dev" --info 2>/dev/null) || continue
		printf '%s\n' "$info" | grep -q 'Driver name *: spectrum-camera' || continue
		printf '%s\n' "$info" | sed -n '/Device Caps/,$p' | grep -q 'Video Output' || continue
		echo "$dev"
		return 0
	done
	return 1
}

if [ -z "$OUTPUT" ]; then
	OUTPUT=$(find_output) || die "no spectrum-camera video output node found: load virtio_media_camera, or name the node with --output"
	log "output node: $OUTPUT"
fi
[ -c "$OUTPUT" ] || die "$OUTPUT is not a device node (see --output)"
[ -c "$CAMERA" ] || log "warning: $CAMERA is not a device node yet (see --camera); the pipeline will fail until it is"

HAVE_SETSID=1
command -v setsid >/dev/null 2>&1 || {
	HAVE_SETSID=0
	log "warning: setsid not found: a stopped pipeline's first process gets SIGTERM, its children do not"
}

RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/camera-vm-agent.XXXXXX") || die "cannot create a directory in ${TMPDIR:-/tmp}"
WAKE=$RUNDIR/wake
mkfifo "$WAKE" || die "cannot create $WAKE"
# Read and write end at once: opening never blocks and reading never sees EOF.
exec 3<>"$WAKE"

# ---- reading the output node ------------------------------------------------

# read_wanted: sets NOW to 0 or 1, the value of Frames Wanted; fails (and
# puts v4l2-ctl's message in READ_ERROR) when it cannot be read.
read_wanted() {
	out=$(v4l2-ctl -d "$OUTPUT" --get-ctrl="$CONTROL" 2>&1) || {
		READ_ERROR=$(printf '%s' "$out" | tr '\n' ' ')
		return 1
	}
	NOW=${out##*: }
	case $NOW in
	0 | 1) ;;
	*) READ_ERROR="unexpected answer '$out'"; return 1 ;;
	esac
}

# read_mode: sets SPECTRUM_WIDTH, SPECTRUM_HEIGHT, SPECTRUM_FOURCC and
# SPECTRUM_FPS from the output node's G_FMT and G_PARM, and the ffmpeg and
# GStreamer names of the format; fails with READ_ERROR set otherwise.
read_mode() {
	fmt=$(v4l2-ctl -d "$OUTPUT" --get-fmt-video-out 2>&1) || { READ_ERROR="G_FMT: $fmt"; return 1; }
	parm=$(v4l2-ctl -d "$OUTPUT" --get-output-parm 2>&1) || { READ_ERROR="G_PARM: $parm"; return 1; }
	size=$(printf '%s\n' "$fmt" | sed -n 's/.*Width\/Height *: *\([0-9][0-9]*\)\/\([0-9][0-9]*\).*/\1 \2/p')
	fourcc=$(printf '%s\n' "$fmt" | sed -n "s/.*Pixel Format *: *'\([^']*\)'.*/\1/p")
	# v4l2-ctl prints the rate as "Frames per second: 30.000 (30/1)".
	rate=$(printf '%s\n' "$parm" | sed -n 's/.*Frames per second:.*(\([0-9][0-9]*\/[0-9][0-9]*\)).*/\1/p')
	SPECTRUM_WIDTH=${size% *}
	SPECTRUM_HEIGHT=${size#* }
	SPECTRUM_FOURCC=$fourcc
	SPECTRUM_FPS=$rate
	case $fourcc in
	YUYV) SPECTRUM_FFMPEG_PIX_FMT=yuyv422; SPECTRUM_GST_FORMAT=YUY2 ;;
	NV12) SPECTRUM_FFMPEG_PIX_FMT=nv12; SPECTRUM_GST_FORMAT=NV12 ;;
	YU12) SPECTRUM_FFMPEG_PIX_FMT=yuv420p; SPECTRUM_GST_FORMAT=I420 ;;
	*) READ_ERROR="unexpected pixel format '$fourcc' in: $(printf '%s' "$fmt" | tr '\n' ' ')"; return 1 ;;
	esac
	if ! is_count "$SPECTRUM_WIDTH" || ! is_count "$SPECTRUM_HEIGHT" || [ -z "$rate" ]; then
		READ_ERROR="cannot parse the mode from: $(printf '%s %s' "$fmt" "$parm" | tr '\n' ' ')"
		return 1
	fi
	export SPECTRUM_CAMERA="$CAMERA" SPECTRUM_OUTPUT="$OUTPUT" SPECTRUM_WIDTH SPECTRUM_HEIGHT \
		SPECTRUM_FOURCC SPECTRUM_FPS SPECTRUM_FFMPEG_PIX_FMT SPECTRUM_GST_FORMAT
}

# ---- the pipeline -----------------------------------------------------------

RUNNER=        # the subshell that runs the pipeline and reports its end
GENERATION=0   # numbers the pipelines, so a late report of an old one is ignored
STARTED_AT=0
BACKOFF=1      # seconds before the next restart after a death
WAITING=0      # 1 while a restart waits for its delay

# start_pipeline: runs COMMAND in a new session (its process group is the
# pipeline's pid, written to RUNDIR/pgid) from a subshell that reports
# "exit GENERATION STATUS" on the wake pipe when it ends.
start_pipeline() {
	if ! read_mode; then
		log "cannot read the demanded mode from $OUTPUT: $READ_ERROR; retrying in $RECHECK s"
		return 1
	fi
	GENERATION=$((GENERATION + 1))
	rm -f "$RUNDIR/pgid"
	(
		if [ "$HAVE_SETSID" = 1 ]; then
			setsid sh -c "$COMMAND" </dev/null 3>&- &
		else
			sh -c "$COMMAND" </dev/null 3>&- &
		fi
		pid=$!
		echo "$pid" >"$RUNDIR/pgid"
		# The status says how it ended (128 + the signal); the shell's own
		# "Terminated" notice would only clutter the log.
		wait "$pid" 2>/dev/null
		echo "exit $GENERATION $?" >&3
	) &
	RUNNER=$!
	STARTED_AT=$(date +%s)
	log "frames wanted ($SPECTRUM_FOURCC ${SPECTRUM_WIDTH}x$SPECTRUM_HEIGHT at $SPECTRUM_FPS fps): camera pipeline started from $CAMERA into $OUTPUT"
	log "pipeline command: $COMMAND"
}

# stop_pipeline REASON: SIGTERM to the pipeline's process group, SIGKILL
# after STOP_TIMEOUT seconds; returns once it has exited.
stop_pipeline() {
	[ -n "$RUNNER" ] || return 0
	pgid=
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		pgid=$(cat "$RUNDIR/pgid" 2>/dev/null) && [ -n "$pgid" ] && break
		sleep 0.1
	done
	log "$1: stopping the camera pipeline"
	target=$pgid
	[ "$HAVE_SETSID" = 1 ] && target=-$pgid
	rm -f "$RUNDIR/killed"
	if [ -n "$pgid" ]; then
		kill -TERM "$target" 2>/dev/null
		(
			sleep "$STOP_TIMEOUT"
			: >"$RUNDIR/killed"
			kill -KILL "$target" 2>/dev/null || rm -f "$RUNDIR/killed"
		) &
		killer=$!
	fi
	wait "$RUNNER"
	if [ -n "$pgid" ]; then
		kill "$killer" 2>/dev/null
		wait "$killer" 2>/dev/null
	fi
	[ -e "$RUNDIR/killed" ] && log "the camera pipeline did not exit within $STOP_TIMEOUT s of SIGTERM and was killed"
	RUNNER=
	log "camera pipeline stopped after $(($(date +%s) - STARTED_AT)) s; the camera is closed"
}

# pipeline_ended GENERATION STATUS: the report of a pipeline that exited by
# itself. While frames are wanted it is restarted after BACKOFF seconds.
pipeline_ended() {
	[ "$1" = "$GENERATION" ] && [ -n "$RUNNER" ] || return 0
	wait "$RUNNER" 2>/dev/null
	RUNNER=
	ran=$(($(date +%s) - STARTED_AT))
	[ "$ran" -ge 30 ] && BACKOFF=1
	if [ "$WANTED" = 1 ]; then
		log "camera pipeline exited with status $2 after $ran s while frames are wanted; restarting in $BACKOFF s"
		WAITING=1
		(
			sleep "$BACKOFF"
			echo restart >&3
		) &
		BACKOFF=$((BACKOFF * 2))
		[ "$BACKOFF" -gt 30 ] && BACKOFF=30
	else
		log "camera pipeline exited with status $2 after $ran s"
	fi
}

# ---- the event loop ---------------------------------------------------------

WANTED=unknown
READ_FAILING=0

# reconcile: reads Frames Wanted and starts or stops the pipeline to match.
reconcile() {
	if ! read_wanted; then
		[ "$READ_FAILING" = 1 ] || log "cannot read Frames Wanted from $OUTPUT: $READ_ERROR (retrying every $RECHECK s)"
		READ_FAILING=1
		return
	fi
	[ "$READ_FAILING" = 1 ] && log "Frames Wanted readable again"
	READ_FAILING=0
	if [ "$NOW" != "$WANTED" ]; then
		[ "$NOW" = 0 ] && [ -z "$RUNNER" ] && log "frames not wanted: the camera stays closed"
		WANTED=$NOW
	fi
	if [ "$WANTED" = 1 ]; then
		[ -z "$RUNNER" ] && [ "$WAITING" = 0 ] && start_pipeline
	else
		WAITING=0
		BACKOFF=1
		[ -n "$RUNNER" ] && stop_pipeline "frames no longer wanted"
	fi
}

# The event watcher: one v4l2-ctl --wait-for-event at a time, each ending
# with the next change of the control; "event" on the wake pipe for each.
# v4l2-ctl's own output is kept for the log when it fails. Every wait runs in
# the background, so that SIGTERM ends the subshell (and its child) at once.
(
	child=
	trap 'kill "$child" 2>/dev/null; exit 0' TERM INT
	failing=0
	while :; do
		v4l2-ctl -d "$OUTPUT" --wait-for-event="ctrl=$CONTROL" >"$RUNDIR/event.out" 2>&1 3>&- &
		child=$!
		if wait "$child"; then
			failing=0
			echo event >&3
		else
			[ "$failing" = 1 ] || echo "watch-failed" >&3
			failing=1
			sleep "$RECHECK" 3>&- &
			child=$!
			wait "$child"
		fi
	done
) &
WATCHER=$!

(
	child=
	trap 'kill "$child" 2>/dev/null; exit 0' TERM INT
	while :; do
		sleep "$RECHECK" 3>&- &
		child=$!
		wait "$child" && echo tick >&3
	done
) &
TICKER=$!

shutdown() {
	trap '' TERM INT
	log "$1"
	stop_pipeline "agent stopping"
	kill "$WATCHER" "$TICKER" 2>/dev/null
	wait "$WATCHER" "$TICKER" 2>/dev/null
	exec 3>&-
	rm -rf "$RUNDIR"
	log "stopped"
	exit 0
}
trap 'shutdown "SIGTERM received"' TERM
trap 'shutdown "SIGINT received"' INT

case $COMMAND in
"$FFMPEG_COMMAND") KIND=ffmpeg ;;
"$GSTREAMER_COMMAND") KIND=GStreamer ;;
*) KIND=custom ;;
esac
log "watching $OUTPUT (Frames Wanted); camera $CAMERA; pipeline: $KIND"
reconcile
while :; do
	# A signal interrupts the read; the trap runs and exits.
	read -r what generation status <&3 || continue
	case $what in
	event | tick) reconcile ;;
	restart) WAITING=0; reconcile ;;
	exit) pipeline_ended "$generation" "$status" ;;
	watch-failed) log "cannot wait for Frames Wanted events on $OUTPUT: $(tr '\n' ' ' <"$RUNDIR/event.out"); reading the control every $RECHECK s" ;;
	esac
done
