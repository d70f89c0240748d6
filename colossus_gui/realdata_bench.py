"""Real-data figures for ``colossus-gui bench``: query_range decoding rate, opening an hour of a 512-GPU
hall recorded at 15 s (from Prometheus over HTTP on 127.0.0.1, and from a folder of saved scrapes), and
the cost of one scrape of the metrics endpoint."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np

EPOCH0 = 1_764_590_400.0


def _hall():
    from .testing import small_facility
    return small_facility(halls=1, rows=2, racks_per_row=4)  # 512 GPUs


def _matrix_body(metric: str, times: np.ndarray, values: np.ndarray, gpt: int, hosts) -> bytes:
    res = [{"metric": {"__name__": metric, "gpu": str(i % gpt), "Hostname": hosts[i // gpt], "job": "dcgm"},
            "values": [[float(t), repr(float(v))] for t, v in zip(times, values[:, i], strict=True)]}
           for i in range(values.shape[1])]
    return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": res}},
                      separators=(",", ":")).encode()


def decode_figures(n_series: int = 512, n_points: int = 2400) -> dict:
    from .io.dcgm import decode_matrix
    rng = np.random.default_rng(0)
    vals = np.round(rng.normal(60, 5, (n_points, n_series)), 4)
    body = _matrix_body("DCGM_FI_DEV_GPU_TEMP", EPOCH0 + 15 * np.arange(n_points), vals, 8,
                        [f"h{i}" for i in range(n_series)])
    walls, cpus = [], []
    for _ in range(3):
        t, c = time.perf_counter(), time.process_time()
        decode_matrix(body)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    n = n_series * n_points
    return {"samples": n, "mb": len(body) / 1e6, "per_s_wall": n / min(walls), "per_s_cpu": n / min(cpus)}


class _Canned(BaseHTTPRequestHandler):
    bodies: dict[str, bytes] = {}

    def do_GET(self):  # noqa: N802
        q = parse_qs(urlparse(self.path).query)
        body = self.bodies.get(q.get("query", [""])[0], b'{"status":"success","data":{"resultType":"matrix",'
                                                          b'"result":[]}}')
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def _recorded_hour():
    from .sim.engine import Engine
    from .sim.replay import record_engine
    fac = _hall()
    eng = Engine(fac, seed=1)
    rec = record_engine(eng, 3600, 15.0, epoch0_s=EPOCH0)
    return fac, eng.topo, rec


def replay_open_figures(gui: bool = False) -> dict:
    """Seconds to open 1 h of a 512-GPU hall at 15 s (241 samples x 512 GPUs x 4 metrics)."""
    from .io.dcgm import fetch_prometheus, load_scrape_folder
    from .sim.replay import ReplayEngine
    fac, topo, rec = _recorded_hour()
    hosts = [topo.tray_address(t) for t in range(topo.n_trays)]
    _Canned.bodies = {m: _matrix_body(m, rec.times_s, getattr(rec, f), topo.gpus_per_tray, hosts)
                      for m, f in (("DCGM_FI_DEV_GPU_TEMP", "temp_c"), ("DCGM_FI_DEV_POWER_USAGE", "power_w"),
                                   ("DCGM_FI_DEV_XID_ERRORS", "xid"),
                                   ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "row_remap_failure"))}
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Canned)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    out = {"samples": int(rec.n_samples * rec.n_gpus * 4)}
    try:
        t, c = time.perf_counter(), time.process_time()
        got = fetch_prometheus(url, rec.times_s[0], rec.times_s[-1], 15.0, topo)
        ReplayEngine(fac, got)
        out["prometheus_s"], out["prometheus_cpu_s"] = time.perf_counter() - t, time.process_time() - c
        assert np.array_equal(got.temp_c, rec.temp_c)
        if gui:
            from .ui.telemetry_window import bench_open_s
            out["prometheus_window_s"], out["prometheus_window_cpu_s"] = bench_open_s(fac, lambda progress=None, cancelled=None: fetch_prometheus(
                url, rec.times_s[0], rec.times_s[-1], 15.0, topo, progress=progress, cancelled=cancelled))
    finally:
        srv.shutdown()
        srv.server_close()
        th.join(timeout=5)
    with tempfile.TemporaryDirectory() as d:
        _write_scrapes(Path(d), rec, hosts, topo.gpus_per_tray)
        t, c = time.perf_counter(), time.process_time()
        got = load_scrape_folder(d, topo)
        ReplayEngine(fac, got)
        out["scrapes_s"], out["scrapes_cpu_s"] = time.perf_counter() - t, time.process_time() - c
        assert np.array_equal(got.temp_c, rec.temp_c)
    return out


def _write_scrapes(folder: Path, rec, hosts, gpt: int) -> None:
    """What dcgm-exporter writes (the four fields the app reads among a few it does not), one file each."""
    names = (("DCGM_FI_DEV_SM_CLOCK", None), ("DCGM_FI_DEV_GPU_TEMP", rec.temp_c),
             ("DCGM_FI_DEV_POWER_USAGE", rec.power_w), ("DCGM_FI_DEV_XID_ERRORS", rec.xid),
             ("DCGM_FI_DEV_ROW_REMAP_FAILURE", rec.row_remap_failure), ("DCGM_FI_DEV_MEM_COPY_UTIL", None))
    labels = [f'gpu="{i % gpt}",UUID="GPU-{i:08d}",device="nvidia{i % gpt}",modelName="NVIDIA H100 80GB HBM3",'
              f'Hostname="{hosts[i // gpt]}"' for i in range(rec.n_gpus)]
    for k, t in enumerate(rec.times_s):
        lines = []
        for name, arr in names:
            lines += [f"# HELP {name} {name}.", f"# TYPE {name} gauge"]
            vals = arr[k] if arr is not None else np.full(rec.n_gpus, 1410.0)
            lines += [f"{name}{{{lab}}} {float(v)!r}" for lab, v in zip(labels, vals, strict=True)]
        (folder / f"dcgm-{int(t)}.prom").write_text("\n".join(lines) + "\n")


def endpoint_figures(quick: bool) -> list[tuple[str, int, float]]:
    from prometheus_client import CollectorRegistry, generate_latest

    from .io.loader import load_facility
    from .io.metrics_endpoint import EngineMetrics
    from .sim.engine import Engine
    out = []
    for name, fac in (("512-GPU hall", _hall()), *(() if quick else (("colossus", load_facility("colossus")),))):
        eng = Engine(fac, seed=1)
        eng.step()
        m = EngineMetrics(eng)
        reg = CollectorRegistry(auto_describe=False)
        reg.register(m)
        t = time.perf_counter()
        m.publish()
        generate_latest(reg)
        out.append((name, eng.n_gpus, time.perf_counter() - t))
    return out


def realdata_bench_lines(quick: bool = False, gui: bool = False) -> list[str]:
    d = decode_figures(512, 600 if quick else 2400)
    lines = [f"query_range decoding: {d['per_s_wall'] / 1e6:.2f} M samples/s wall, {d['per_s_cpu'] / 1e6:.2f} M/s "
             f"CPU ({d['samples']:,} samples, {d['mb']:.0f} MB of JSON) (target >= 1 M/s)"]
    r = replay_open_figures(gui=gui)
    lines.append(f"open 1 h of a 512-GPU hall at 15 s ({r['samples']:,} samples), wall (CPU): from Prometheus "
                 f"{r['prometheus_s']:.2f} s ({r['prometheus_cpu_s']:.2f} s), from saved scrapes "
                 f"{r['scrapes_s']:.2f} s ({r['scrapes_cpu_s']:.2f} s)"
                 + (f", from Prometheus to a painted window {r['prometheus_window_s']:.2f} s "
                    f"({r['prometheus_window_cpu_s']:.2f} s)" if "prometheus_window_s" in r else "")
                 + f" (target <= 5 s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    for name, n, s in endpoint_figures(quick):
        lines.append(f"metrics endpoint, one scrape of the {name} ({n:,} GPUs x 5 DCGM fields): {s:.2f} s")
    return lines
