// The browser phase's test page. Served from the guest's own loopback (page_server.py), opened by headless Chromium and
// Firefox with camera permission granted by flag or preference. It records what a video-call page can see of the
// Spectrum Camera devices and posts the record to the server; the host judges it (tests/e2e/judge_browser.py).
//
// Query: browser=NAME, pattern=CARD (a sidecar with the test pattern), black=CARD (serve --source black),
// service=CARD (serve --camera-service), frames=N (frames sampled per steady capture), limit=S (the most seconds a
// steady capture may take to show them), sizes=WxH,WxH.
//
// Every sampled frame is classified from its pixels (drawn to a canvas): the test pattern's rows 0-15 carry the
// frame number as 32 blocks, most significant bit first, each (width / 32) rounded down to even pixels wide, luma
// 235 for a 1 and 16 for a 0; rows 16-31 carry the marker 0x5343 as 16 blocks twice as wide. Limited-range luma 235
// and 16 become RGB 255 and 0 in the browser, so a sample is a bit when all three channels are clearly on one side.
"use strict";

const params = new URLSearchParams(location.search);
const browser = params.get("browser") || "unknown";
const cards = { pattern: params.get("pattern"), black: params.get("black"), service: params.get("service") };
const frameCount = Number(params.get("frames") || 10);
const limitMs = 1000 * Number(params.get("limit") || 30);
const sizes = (params.get("sizes") || "640x480,1280x720").split(",").map(s => s.split("x").map(Number));
const MARKER = 0x5343;
// A channel value counts as a 1 bit above ONE and as a 0 bit below ZERO; anything between is not the pattern.
const ONE = 192, ZERO = 64;
// A frame is black when no sampled channel exceeds this (limited-range luma 16 converts to 0; the margin covers the
// browsers' YUV-to-RGB rounding).
const BLACK_MAX = 24;
// A steady capture lasts at least this long, so that frame times a frame period apart at the ends weigh little in the
// rate fitted over it.
const SPAN_MS = 2000;

const report = { browser, userAgent: navigator.userAgent, started: Date.now(), steps: {}, errors: [], events: [] };
const video = document.getElementById("video");
const band = document.createElement("canvas");
const bandCtx = band.getContext("2d", { willReadFrequently: true });
const thumb = document.createElement("canvas");
thumb.width = 32; thumb.height = 24;
const thumbCtx = thumb.getContext("2d", { willReadFrequently: true });
let deviceChanges = 0;
navigator.mediaDevices.addEventListener("devicechange", () => { deviceChanges++; note("devicechange"); });

function note(what) {
    report.events.push({ t: Date.now(), what });
    fetch(`/log?browser=${browser}`, { method: "POST", body: `${Date.now()} ${what}` }).catch(() => {});
}

async function mark(event, fields = {}) {
    const q = new URLSearchParams({ event, browser, page_t: String(Date.now()), ...fields });
    await fetch(`/mark?${q}`);
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

// The class of the frame on screen now: "pattern" (marker read back) with its number, "black", or "other".
function classify(width, height) {
    band.width = width; band.height = 32;
    bandCtx.drawImage(video, 0, 0, width, 32, 0, 0, width, 32);
    const px = bandCtx.getImageData(0, 0, width, 32).data;
    thumbCtx.drawImage(video, 0, 0, thumb.width, thumb.height);
    const small = thumbCtx.getImageData(0, 0, thumb.width, thumb.height).data;
    let max = 0;
    for (let i = 0; i < small.length; i += 4) max = Math.max(max, small[i], small[i + 1], small[i + 2]);
    for (let i = 0; i < px.length; i += 4) max = Math.max(max, px[i], px[i + 1], px[i + 2]);

    const block = Math.floor(width / 32) & ~1;
    // One bit: nine samples inside the block (away from its edges, where scaling and chroma blur), all agreeing.
    const bit = (x0, w, y0) => {
        let ones = 0, zeros = 0;
        for (const fy of [0.25, 0.5, 0.75]) for (const fx of [0.25, 0.5, 0.75]) {
            const x = Math.floor(x0 + fx * w), y = Math.floor(y0 + fy * 16);
            const i = (y * width + x) * 4;
            const lo = Math.min(px[i], px[i + 1], px[i + 2]), hi = Math.max(px[i], px[i + 1], px[i + 2]);
            if (lo > ONE) ones++; else if (hi < ZERO) zeros++;
        }
        return ones === 9 ? 1 : zeros === 9 ? 0 : -1;
    };
    let marker = 0, number = 0, clean = true;
    for (let b = 0; b < 16; b++) {
        const v = bit(b * 2 * block, 2 * block, 16);
        if (v < 0) clean = false;
        marker = marker * 2 + Math.max(v, 0);
    }
    for (let b = 0; b < 32; b++) {
        const v = bit(b * block, block, 0);
        if (v < 0) clean = false;
        number = number * 2 + Math.max(v, 0);
    }
    if (clean && marker === MARKER) return { cls: "pattern", n: number, max };
    if (max <= BLACK_MAX) return { cls: "black", n: null, max };
    return { cls: "other", n: null, max, marker: clean ? marker : null };
}

// Samples every frame the video element presents (requestVideoFrameCallback, both browsers have it) until
// until() says stop or the time runs out; returns the samples.
function sample(width, height, until, limitMs) {
    return new Promise(resolve => {
        const frames = [];
        const start = Date.now();
        let done = false;
        const finish = () => { if (!done) { done = true; resolve(frames); } };
        const onFrame = (_now, meta) => {
            if (done) return;
            const t = Date.now(), perfNow = performance.now();
            const f = classify(width, height);
            f.t = t;
            f.presented = meta ? meta.presentedFrames : null;
            // When the browser took the frame from the camera (captureTime, on the performance.now() clock), as a
            // Date.now() time: under TCG the page draws frames up to seconds after that, so the checks of what the
            // camera delivered when use this time, not the drawing time.
            f.captured = meta && typeof meta.captureTime === "number" && meta.captureTime > 0
                ? t - (perfNow - meta.captureTime) : null;
            frames.push(f);
            if (until(frames) || Date.now() - start > limitMs) finish();
            else video.requestVideoFrameCallback(onFrame);
        };
        video.requestVideoFrameCallback(onFrame);
        // If no frame at all arrives, the time limit still ends the sampling.
        setTimeout(finish, limitMs + 2000);
    });
}

async function open(card, width, height) {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const dev = devices.find(d => d.kind === "videoinput" && labelMatches(d.label, card));
    if (!dev) throw new Error(`no videoinput labelled '${card}'`);
    const stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { deviceId: { exact: dev.deviceId }, width: { exact: width }, height: { exact: height }, frameRate: { ideal: 30 } },
    });
    const track = stream.getVideoTracks()[0];
    video.srcObject = stream;
    await video.play();
    return { stream, track, deviceId: dev.deviceId };
}

// Chromium appends " (vendor:product)" to USB cameras' card names; ours is not USB, but accept the form.
function labelMatches(label, card) {
    return label === card || label.startsWith(`${card} (`);
}

function describe(track) {
    const settings = track.getSettings();
    return {
        settings: { width: settings.width, height: settings.height, frameRate: settings.frameRate, deviceId: settings.deviceId },
        capabilities: typeof track.getCapabilities === "function" ? track.getCapabilities() : null,
        label: track.label,
        readyState: track.readyState,
    };
}

function deviceList(devices) {
    return devices.filter(d => d.kind === "videoinput").map(d => ({ deviceId: d.deviceId, label: d.label, groupId: d.groupId }));
}

async function step(name, fn) {
    const started = Date.now();
    note(`step ${name}`);
    try {
        report.steps[name] = { ok: true, ...(await fn()) };
    } catch (e) {
        report.steps[name] = { ok: false, error: `${e.name}: ${e.message}` };
        report.errors.push(`${name}: ${e.name}: ${e.message}`);
        note(`step ${name} failed: ${e.name}: ${e.message}`);
    }
    report.steps[name].ms = Date.now() - started;
}

// A steady capture: open, record settings, sample at least `frameCount` frames over at least SPAN_MS (the frame rate
// is fitted over that span; or for at most `limitMs`), stop.
async function capture(card, width, height) {
    const { track, deviceId } = await open(card, width, height);
    let ended = false;
    track.addEventListener("ended", () => { ended = true; });
    const opened = describe(track);
    const frames = await sample(width, height, f => f.length >= frameCount && f[f.length - 1].t - f[0].t >= SPAN_MS, limitMs);
    const readyState = track.readyState;
    track.stop();
    video.srcObject = null;
    return { deviceId, ...opened, frames, readyStateBeforeStop: readyState, ended };
}

// The camera-service call: real frames, the host denies (the page asks for it with a mark and keeps sampling), black
// frames, the host allows, real frames again. The track must stay live and the device list unchanged throughout.
async function serviceCall(width, height) {
    const listBefore = deviceList(await navigator.mediaDevices.enumerateDevices());
    const { track, deviceId } = await open(cards.service, width, height);
    const events = [];
    for (const type of ["ended", "mute", "unmute"]) track.addEventListener(type, () => events.push({ type, t: Date.now() }));
    const opened = describe(track);
    const changesBefore = deviceChanges;
    const run = (name, until, limitMs) => sample(width, height, until, limitMs).then(f => { f.forEach(x => { x.phase = name; }); return f; });
    const realTail = n => frames => frames.length >= n && frames.slice(-n).every(f => f.cls === "pattern");
    const blackTail = n => frames => frames.length >= n && frames.slice(-n).every(f => f.cls === "black");

    const allowed = await run("allowed", realTail(10), 30000);
    const denyAsked = Date.now();
    await mark("deny-now");
    const deniedStart = Date.now();
    const denied = await run("denied", f => Date.now() - deniedStart > 2000 && blackTail(10)(f), 20000);
    const listDuring = deviceList(await navigator.mediaDevices.enumerateDevices());
    const readyDuring = track.readyState;
    const allowAsked = Date.now();
    await mark("allow-now");
    const reallowed = await run("reallowed", realTail(10), 30000);
    const listAfter = deviceList(await navigator.mediaDevices.enumerateDevices());
    const readyAfter = track.readyState;
    track.stop();
    video.srcObject = null;
    return {
        deviceId, ...opened, frames: [...allowed, ...denied, ...reallowed], denyAsked, allowAsked, events,
        readyDuring, readyAfter, listBefore, listDuring, listAfter, deviceChanges: deviceChanges - changesBefore,
    };
}

async function main() {
    await mark("page-loaded");
    await step("enumerate-before-permission", async () => ({ devices: deviceList(await navigator.mediaDevices.enumerateDevices()) }));
    await step("grant", async () => {
        const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
        const label = stream.getVideoTracks()[0].label;
        stream.getTracks().forEach(t => t.stop());
        return { label };
    });
    await step("enumerate", async () => ({ devices: deviceList(await navigator.mediaDevices.enumerateDevices()) }));
    for (const [w, h] of sizes) await step(`pattern-${w}x${h}`, () => capture(cards.pattern, w, h));
    for (const [w, h] of sizes) await step(`black-${w}x${h}`, () => capture(cards.black, w, h));
    await step("service", () => serviceCall(sizes[0][0], sizes[0][1]));
    report.deviceChanges = deviceChanges;
}

main()
    .catch(e => report.errors.push(`main: ${e.name}: ${e.message}`))
    .finally(async () => {
        report.finished = Date.now();
        await fetch(`/result?browser=${browser}`, { method: "POST", body: JSON.stringify(report) });
    });
