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

    print("| Frame | memcpy (paired median) | device path (paired median) | ratio (median of pairs) | target ≤ 1.3 | BenchmarkDotNet ratio | "
          "device thread CPU / frame | frame + QBUF CPU | bytes / frame |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key, label in [("nv12_1920x1080", "NV12 1920×1080"), ("nv12_1280x720", "NV12 1280×720"),
                       ("yuyv_1920x1080", "YUYV 1920×1080"), ("yuyv_1280x720", "YUYV 1280×720"),
                       ("nv12_320x240", "NV12 320×240 (diagnosis)")]:
        paired = m.get(f"frame.{key}.ratio_vs_memcpy_paired")
        base = paired["baseline"]["value"] if paired else 0
        frame = m.get(f"frame.{key}.device_path_paired_median_ns", {}).get("value", 0)
        print(f"| {label} | {base / 1000:.1f} µs | {frame / 1000:.1f} µs | {v(m, f'frame.{key}.ratio_vs_memcpy_paired')}× | "
              f"{verdict(m, f'frame.{key}.ratio_vs_memcpy_paired')} | {v(m, f'frame.{key}.ratio_vs_memcpy')}× | "
              f"{v(m, f'frame.{key}.device_thread_cpu_ns', 1000, 1)} µs | {v(m, f'frame.{key}.device_thread_cpu_per_cycle_ns', 1000, 1)} µs | "
              f"{v(m, f'alloc.{key}.device_thread_bytes_per_frame', digits=0)} (device thread), "
              f"{v(m, f'alloc.{key}.bytes_per_frame', digits=0)} (MemoryDiagnoser) |")

    print("\n| Diagnosis (BenchmarkDotNet, ratio to memcpy) | NV12 1080p | NV12 720p | YUYV 1080p | YUYV 720p | NV12 320×240 |")
    print("|---|---|---|---|---|---|")
    keys = ["nv12_1920x1080", "nv12_1280x720", "yuyv_1920x1080", "yuyv_1280x720", "nv12_320x240"]
    for metric, label in [("memcpy_scattered_ratio_vs_memcpy", "memcpy into the scattered guest pages"),
                          ("device_copy_routine_ratio_vs_memcpy", "the device's GuestRangeWriter alone"),
                          ("memcpy_nontemporal_ratio_vs_memcpy", "memcpy with streaming stores"),
                          ("memcpy_scattered_nontemporal_ratio_vs_memcpy", "scattered, streaming stores"),
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


if __name__ == "__main__":
    main()
