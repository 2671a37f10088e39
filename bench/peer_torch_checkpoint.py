"""PyTorch peer of bench/checkpoint_bench.cpp: the same tensors (the large
benchmark model, SCALE x the vocabulary), torch.save then torch.load, timed,
each in the process that runs this script (run it once per mode, as the C++
side does, so peak RSS is per mode). Prints one JSON line.

  /usr/bin/python3 bench/peer_torch_checkpoint.py save FILE [SCALE]
  /usr/bin/python3 bench/peer_torch_checkpoint.py load FILE
"""
import json, os, resource, sys, time

import torch


def model(scale):
    V, E, H = int(32000 * scale), 512, 1024
    g = torch.Generator().manual_seed(1)
    t = {"embedding": torch.rand(V, E, generator=g) * 0.2 - 0.1}
    for scope in ("encoder/cell", "decoder/decoder/cell"):
        t[scope + "/gates/kernel"] = torch.rand(E + H, 2 * H, generator=g)
        t[scope + "/gates/bias"] = torch.rand(2 * H, generator=g)
        t[scope + "/candidate/kernel"] = torch.rand(E + H, H, generator=g)
        t[scope + "/candidate/bias"] = torch.rand(H, generator=g)
    t["decoder/decoder/out_layer/kernel"] = torch.rand(H, V, generator=g)
    return t


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 1e6


def main():
    mode, path = sys.argv[1], sys.argv[2]
    scale = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    torch.set_num_threads(1)
    if mode == "save":
        t = model(scale)
        before = rss_mb()
        t0 = time.perf_counter()
        torch.save(t, path)
        with open(path, "rb") as f:
            os.fsync(f.fileno())
        s = time.perf_counter() - t0
    else:
        before = rss_mb()
        t0 = time.perf_counter()
        t = torch.load(path)
        s = time.perf_counter() - t0
    mb = os.path.getsize(path) / 1e6
    values = sum(x.numel() * 4 for x in t.values()) / 1e6
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    print(json.dumps({"mode": "torch." + mode, "seconds": round(s, 3), "file_mb": round(mb, 1),
                      "values_mb": round(values, 1), "values_mb_per_s": round(values / s, 1),
                      "rss_before_mb": round(before, 1), "peak_rss_mb": round(peak, 1)}))


main()
