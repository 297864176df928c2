#!/usr/bin/env python3
"""Prints the figure tables of docs/performance.md from a summary.json written by bench/run.sh.

Usage: bench/figures.py [artifacts/bench/summary.json]
"""
import json
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return data, {m["name"]: m for m in data["metrics"]}


def v(metrics, name, scale=1.0, digits=2):
    m = metrics.get(name)
    if m is None:
        return "n/a"
    return f"{m['value'] / scale:,.{digits}f}"


def verdict(metrics, name):
    met = metrics.get(name, {}).get("met")
    return {True: "met", False: "**missed**", None: ""}[met]


def conversion_row(m, key, label):
    paired = m.get(f"convert.{key}.speedup_vs_swscale_paired")
    theirs = paired["baseline"]["value"] if paired else 0
    ours = m.get(f"convert.{key}.spectrum_paired_median_ns", {}).get("value", 0)
    note = m.get(f"convert.{key}.spectrum_ns", {}).get("note", "")
    target = (paired or {}).get("target") or ""
    return (f"| {label} | {ours / 1000:.0f} µs | {theirs / 1000:.0f} µs | {v(m, f'convert.{key}.speedup_vs_swscale_paired')}× | "
            f"{target.replace('>=', '≥')} {verdict(m, f'convert.{key}.speedup_vs_swscale_paired')} | {v(m, f'convert.{key}.speedup_vs_swscale')}× | "
            f"{v(m, f'convert.{key}.spectrum_ratio_vs_copy_floor_paired')}× | {v(m, f'convert.{key}.swscale_ratio_vs_copy_floor_paired')}× | "
            f"{note.split('= ')[-1]} | {v(m, f'convert.{key}.speedup_vs_swscale_paired_without_avx512')}× |")


def main():
    data, m = load(sys.argv[1] if len(sys.argv) > 1 else "artifacts/bench/summary.json")
    machine = data["machine"]
    print(f"Command: `{data['command']}`; load average {machine['load_at_start']} at start, "
          f"{machine['load_at_end']} at end; nice {machine.get('nice', '?')}.\n")

    frames = [("nv12_1920x1080", "NV12 1920×1080, every other page"), ("nv12_1280x720", "NV12 1280×720, every other page"),
              ("yuyv_1920x1080", "YUYV 1920×1080, every other page"), ("yuyv_1280x720", "YUYV 1280×720, every other page"),
              ("nv12_320x240", "NV12 320×240, every other page (diagnosis)"),
              ("nv12_1920x1080_runs64k", "NV12 1920×1080, 64 KiB runs"), ("yuyv_1920x1080_runs64k", "YUYV 1920×1080, 64 KiB runs")]
    print("| Frame (guest pages) | memcpy (paired median) | device path (paired median) | ratio (median of pairs) | target ≤ 1.3 | "
          "BenchmarkDotNet ratio | device thread CPU / memcpy (median of pairs) | target ≤ 1.1 | device thread CPU / frame | "
          "its ratio to BenchmarkDotNet's memcpy | frame + QBUF CPU | bytes / frame |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for key, label in frames:
        paired = m.get(f"frame.{key}.ratio_vs_memcpy_paired")
        base = paired["baseline"]["value"] if paired else 0
        frame = m.get(f"frame.{key}.device_path_paired_median_ns", {}).get("value", 0)
        print(f"| {label} | {base / 1000:.1f} µs | {frame / 1000:.1f} µs | {v(m, f'frame.{key}.ratio_vs_memcpy_paired')}× | "
              f"{verdict(m, f'frame.{key}.ratio_vs_memcpy_paired')} | {v(m, f'frame.{key}.ratio_vs_memcpy')}× | "
              f"{v(m, f'frame.{key}.device_thread_cpu_ratio_vs_memcpy_paired')}× | {verdict(m, f'frame.{key}.device_thread_cpu_ratio_vs_memcpy_paired')} | "
              f"{v(m, f'frame.{key}.device_thread_cpu_ns', 1000, 1)} µs | {v(m, f'frame.{key}.device_thread_cpu_ratio_vs_memcpy')}× | "
              f"{v(m, f'frame.{key}.device_thread_cpu_per_cycle_ns', 1000, 1)} µs | "
              f"{v(m, f'alloc.{key}.device_thread_bytes_per_frame', digits=0)} (device thread), "
              f"{v(m, f'alloc.{key}.bytes_per_frame', digits=0)} (MemoryDiagnoser) |")

    keys = [k for k, _ in frames]
    print("\n| Diagnosis (ratio to memcpy; BenchmarkDotNet unless it says paired) | NV12 1080p | NV12 720p | YUYV 1080p | YUYV 720p | NV12 320×240 | "
          "NV12 1080p runs | YUYV 1080p runs |")
    print("|---|---|---|---|---|---|---|---|")
    for metric, label in [("ratio_vs_memcpy_paired_one_cpu", "paired wall ratio, guest and device loop on one CPU (no cross-vCPU wake-up)"),
                          ("memcpy_scattered_ratio_vs_memcpy", "memcpy into the guest pages, one copy per 4 KiB SG entry"),
                          ("device_copy_routine_ratio_vs_memcpy", "the device's GuestRangeWriter alone (merged ranges)"),
                          ("memcpy_nontemporal_ratio_vs_memcpy", "memcpy with streaming stores"),
                          ("memcpy_scattered_nontemporal_ratio_vs_memcpy", "per SG entry, streaming stores"),
                          ("streaming_cycle_ratio_vs_memcpy", "frame + QBUF cycle"),
                          ("test_pattern_ratio_vs_memcpy", "frame, test-pattern source")]:
        print(f"| {label} | " + " | ".join(f"{v(m, f'frame.{k}.{metric}')}×" for k in keys) + " |")

    print("\n| Conversion, unscaled 1080p | ours (paired median) | libswscale (paired median) | speed-up (median of pairs) | target | "
          "BenchmarkDotNet speed-up | ours / plain copy (paired) | swscale / plain copy (paired) | max \\|d\\| | speed-up without AVX-512 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key, label in [("yuyv_to_nv12_1080p", "YUYV → NV12"), ("yuyv_to_i420_1080p", "YUYV → I420"),
                       ("nv12_to_i420_1080p", "NV12 → I420")]:
        print(conversion_row(m, key, label))

    print("\n| Scaling (the five pairs at 1080p → 720p and → 480p) | ours (paired median) | libswscale (paired median) | "
          "speed-up (median of pairs) | target | BenchmarkDotNet speed-up | ours / plain copy (paired) | swscale / plain copy (paired) | "
          "max \\|d\\| | speed-up without AVX-512 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    pairs = [("nv12", "nv12", "NV12 → NV12"), ("yuyv", "nv12", "YUYV → NV12"), ("yuyv", "yuyv", "YUYV → YUYV"),
             ("yuyv", "i420", "YUYV → I420"), ("nv12", "i420", "NV12 → I420")]
    for to in ["720p", "480p"]:
        for source, guest, label in pairs:
            print(conversion_row(m, f"{source}_1080p_to_{guest}_{to}", f"{label}, 1080p → {to}"))

    print("\n| Speed-up over libswscale, paired (without AVX-512 in brackets) | " + " | ".join(p[2] for p in pairs) + " |")
    print("|---|" + "---|" * len(pairs))
    for source_size, to in [("1080p", "720p"), ("1080p", "480p"), ("1080p", "240p"), ("720p", "480p"), ("720p", "240p"),
                            ("480p", "240p")]:
        cells = []
        for source, guest, _ in pairs:
            key = f"convert.{source}_{source_size}_to_{guest}_{to}.speedup_vs_swscale_paired"
            mark = "" if m.get(key, {}).get("met", True) else " **missed**"
            cells.append(f"{v(m, key)}×{mark} ({v(m, key + '_without_avx512')}×)")
        print(f"| {source_size} → {to} | " + " | ".join(cells) + " |")

    print("\n| MJPEG 1080p → NV12 | ours / libjpeg-turbo decode alone (paired) | speed-up vs libjpeg-turbo + swscale (paired) | "
          "BenchmarkDotNet speed-up | max \\|d\\| |")
    print("|---|---|---|---|---|")
    for key, label in [("mjpeg_422p_to_nv12_1080p", "4:2:2 JPEG → 1080p"), ("mjpeg_420p_to_nv12_1080p", "4:2:0 JPEG → 1080p"),
                       ("mjpeg_422p_to_nv12_720p", "4:2:2 JPEG → 720p")]:
        decode = m.get(f"convert.{key}.ratio_vs_turbojpeg_decode_only_paired")
        note = m.get(f"convert.{key}.spectrum_ns", {}).get("note", "")
        print(f"| {label} | {v(m, f'convert.{key}.ratio_vs_turbojpeg_decode_only_paired')}× "
              f"(decode {decode['baseline']['value'] / 1e6 if decode else 0:.2f} ms) | "
              f"{v(m, f'convert.{key}.speedup_vs_turbojpeg_swscale_paired')}× | {v(m, f'convert.{key}.speedup_vs_turbojpeg_swscale')}× | "
              f"{note.split('= ')[-1]} |")

    print("\n| Command round trip | median | p99 |")
    print("|---|---|---|")
    for key, label in [("g_fmt", "G_FMT"), ("qbuf_nv12_1080p", "QBUF, 1080p NV12 buffer (760 SG entries)")]:
        print(f"| {label} | {v(m, f'latency.{key}.median_ns', 1000, 1)} µs | {v(m, f'latency.{key}.p99_ns', 1000, 1)} µs |")

    print("\n| Sidecar streaming at 30 fps | % of one core (utime+stime) | target | schedstat cross-check | per sidecar, fps |")
    print("|---|---|---|---|---|")
    for key, label in [("test_pattern_nv12_720p30", "test pattern, NV12 1280×720"),
                       ("test_pattern_nv12_1080p30", "test pattern, NV12 1920×1080"),
                       ("test_pattern_yuyv_1080p30", "test pattern, YUYV 1920×1080"),
                       ("black_nv12_1080p30", "black, NV12 1920×1080"),
                       ("idle_connected", "connected, not streaming")]:
        name = f"cpu.{key}.percent_of_core"
        target = m.get(name, {}).get("target") or ""
        note = m.get(name, {}).get("note", "")
        print(f"| {label} | {v(m, name)} % | {target} {verdict(m, name)} | {v(m, name + '_schedstat')} % | {note} |")

    system_tables(m)


def system_tables(m):
    """The whole-system scenarios, whatever their keys (the VM count is in the 8-VM one's)."""
    scenarios = sorted({n.split(".")[1] for n in m if n.startswith("system.") and n.endswith(".total_percent_of_core")})
    for scenario in scenarios:
        key = f"system.{scenario}"
        total = m[f"{key}.total_percent_of_core"]
        target = (total.get("target") or "").replace("<=", "≤")
        print(f"\n{scenario}: {total['note']}\n")
        print("| Process | % of one core (utime+stime) | schedstat cross-check | guest frame rate (new frames/s) | target | delivered/s, black |")
        print("|---|---|---|---|---|---|")
        print(f"| camera service | {v(m, key + '.service_percent_of_core')} % | "
              f"{m[key + '.service_percent_of_core']['note'].split('schedstat ')[1].split(')')[0]} % |  |  |  |")
        producer = m.get(f"{key}.producer_sidecar_percent_of_core")
        if producer:
            written = m[f"{key}.camera_vm_fps"]
            print(f"| producer sidecar (camera VM's output device, {producer['note'].split('output device, ')[1].split(' from ')[0]}) | "
                  f"{producer['value']:.2f} % | {producer['note'].split('schedstat ')[1].split(')')[0]} % | "
                  f"{written['value']:.2f} written by the camera VM |  |  |")
        vms = sorted({n[len(key) + 1:].split(".")[0] for n in m if n.startswith(key + ".") and n.endswith(".sidecar_percent_of_core")},
                     key=lambda vm: (len(vm), vm))
        for vm in vms:
            side = m[f"{key}.{vm}.sidecar_percent_of_core"]
            fps = m[f"{key}.{vm}.fps"]
            fps_target = (fps.get("target") or "").replace(">=", "≥")
            delivered = fps["note"].split("; ")[1]
            print(f"| sidecar {vm} ({side['note'].split('guest ')[1].split(' (')[0]}) | {side['value']:.2f} % | "
                  f"{side['note'].split('schedstat ')[1].split(')')[0]} % | {fps['value']:.2f} | {fps_target} {verdict(m, f'{key}.{vm}.fps')} | {delivered} |")
        print(f"| **total** | **{total['value']:.2f} %** | {v(m, key + '.total_percent_of_core_schedstat')} % | "
              f"{'min ' + v(m, key + '.min_fps') if key + '.min_fps' in m else ''} | {target} {verdict(m, key + '.total_percent_of_core')} "
              f"{verdict(m, key + '.min_fps') if key + '.min_fps' in m else ''} |  |")
        if producer:
            dropped = m[f"{key}.producer_device_dropped_frames"]
            failed = m[f"{key}.producer_device_failed_frames"]
            service = m[f"{key}.service_dropped_camera_vm_frames"]
            print("\n| The camera VM's frames | count | target | note |")
            print("|---|---|---|---|")
            print(f"| dropped by the output device (whole run) | {dropped['value']:.0f} |  | {dropped['note'].split('; ')[1]} |")
            print(f"| failed in the output device (whole run) | {failed['value']:.0f} | {(failed.get('target') or '').replace('<=', '≤')} "
                  f"{verdict(m, key + '.producer_device_failed_frames')} | {failed['note'].split('; ')[1]} |")
            print(f"| dropped by the service (window) | {service['value']:.0f} |  | {service['note'].split(': ', 1)[1]} |")
            for vm in vms:
                print(f"| {vm}: repeated / skipped camera VM frame numbers (window) | {v(m, f'{key}.{vm}.repeated_frames', digits=0)} / "
                      f"{v(m, f'{key}.{vm}.skipped_frames', digits=0)} |  |  |")
        decode = m.get(f"{key}.jpeg_decode_alone_percent_of_core")
        if decode:
            print("\n| Measured apart, same frames (thread CPU) | per frame | % of one core at 30 fps |")
            print("|---|---|---|")
            print(f"| libjpeg-turbo decode alone | {decode['baseline']['value'] / 1e6:.2f} ms | {decode['value']:.2f} % |")
            for vm in vms:
                c = m.get(f"{key}.{vm}.service_conversion_percent_of_core")
                if c:
                    print(f"| the service's conversion for {vm} (decode + scale/convert) | {c['baseline']['value'] / 1e6:.2f} ms | {c['value']:.2f} % |")
            print(f"| both conversions per frame (as the service runs them today) |  | {v(m, key + '.service_conversions_percent_of_core')} % |")
            print(f"| both, decoding the frame once (diagnosis) |  | {v(m, key + '.service_conversions_decoding_once_percent_of_core')} % |")
            paced = m.get(f"{key}.jpeg_decode_alone_paced_percent_of_core")
            if paced:
                print(f"| libjpeg-turbo decode alone, one frame every 1/30 s | {paced['baseline']['value'] / 1e6:.2f} ms | {paced['value']:.2f} % |")
                print(f"| both conversions per frame, one frame every 1/30 s |  | {v(m, key + '.service_conversions_paced_percent_of_core')} % |")


if __name__ == "__main__":
    main()
