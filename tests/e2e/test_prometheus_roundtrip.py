"""Round trip through a real Prometheus server (Debian package ``prometheus``): a headless run serves its
metrics, Prometheus scrapes them every second for about a minute, and ``telemetry --prometheus`` reads the
window back. Every per-GPU temperature must equal the simulation's own value at the simulated time of the
same scrape; a GPU whose series is deleted from the server must come back missing (NaN), never 0.

Only 127.0.0.1 is used; the server gets its own config and data folder and is always stopped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from colossus_gui.io.dcgm import SIM_TIME_METRIC, fetch_prometheus
from colossus_gui.model.addresses import Topology
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility

pytestmark = pytest.mark.slow
PROMETHEUS = shutil.which("prometheus")
RUN_S = 60
SEED = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 5.0):
    import requests
    return requests.get(url, timeout=timeout)


@pytest.fixture
def prometheus(tmp_path):
    if PROMETHEUS is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus is not installed (.ci/run installs the Debian package 'prometheus')")
        pytest.skip("prometheus is not installed (apt-get install prometheus)")
    exporter_port, web_port = _free_port(), _free_port()
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                   f"  - job_name: colossus\n    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n")
    log = open(tmp_path / "prometheus.log", "w")  # noqa: SIM115 (closed in teardown)
    proc = subprocess.Popen([PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'data'}",
                             f"--web.listen-address=127.0.0.1:{web_port}", "--web.enable-admin-api"],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{web_port}"
    try:
        for _ in range(100):  # up to 20 s to come up
            if proc.poll() is not None:
                pytest.fail(f"prometheus exited with {proc.returncode}: "
                            f"{(tmp_path / 'prometheus.log').read_text()[-500:]}")
            try:
                if _get(f"{url}/-/ready", 1.0).status_code == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            pytest.fail("prometheus did not become ready in 20 s")
        yield url, exporter_port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def _run_cli(*args, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "colossus_gui", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_roundtrip_through_prometheus(prometheus, tmp_path: Path):
    url, exporter_port = prometheus
    fac = small_facility(halls=1, rows=1, racks_per_row=2)  # 128 GPUs
    fac_path = tmp_path / "facility.json"
    fac_path.write_text(fac.model_dump_json())
    t0 = time.time()
    run = _run_cli("run", "--facility", str(fac_path), "--duration", str(RUN_S), "--seed", str(SEED), "--no-ops",
                   "--metrics-port", str(exporter_port), "--out", str(tmp_path / "out"), "--quiet",
                   timeout=RUN_S + 120)
    t1 = time.time()
    assert run.returncode == 0, run.stderr
    assert t1 - t0 >= RUN_S * 0.95, "the run with --metrics-port is paced at the wall clock"

    topo = Topology(fac)
    rec = fetch_prometheus(url, np.floor(t0), np.ceil(t1), 1.0, topo, max_points=25)  # chunked: 25 points/query
    assert rec.unmapped == [] and rec.conflicts == []  # one series per GPU, every one a GPU of the facility
    sim_t = rec.extra[SIM_TIME_METRIC]
    seen = np.isfinite(sim_t)
    assert seen.sum() >= 0.8 * RUN_S, f"only {seen.sum()} scrapes of a {RUN_S} s run reached Prometheus"

    # the simulation's own values at each simulated second (same facility, seed, step: deterministic)
    eng = Engine(fac, seed=SEED)
    own = [eng.tj.ravel().copy()]
    while eng.t < RUN_S - 1e-9:
        eng.step(1.0)
        own.append(eng.tj.ravel().copy())
    own = np.array(own)
    rows = np.flatnonzero(seen)
    s = np.rint(sim_t[rows]).astype(int)
    assert np.allclose(sim_t[rows], s), "the endpoint publishes between whole steps"
    got = rec.temp_c[rows]
    assert np.isfinite(got).all(), "every GPU reported at every scrape"
    err = np.abs(got - own[s])
    assert err.max() <= 0.1, f"per-GPU temperature differs by up to {err.max():.3f} C"
    assert len(set(s.tolist())) >= 0.8 * RUN_S  # distinct simulated times, not one value repeated
    assert np.ptp(own[s], axis=0).max() > 0.5  # the temperatures did move over the window

    # a series deleted from the server comes back missing, not as 0
    gone = 'DCGM_FI_DEV_GPU_TEMP{Hostname="H1-R001-T2",gpu="3"}'
    import requests
    r = requests.post(f"{url}/api/v1/admin/tsdb/delete_series", params={"match[]": gone}, timeout=10)
    assert r.status_code == 204, r.text
    rec2 = fetch_prometheus(url, np.floor(t0), np.ceil(t1), 1.0, topo)
    g = topo.parse("H1-R001-T2-G4").index
    assert np.isnan(rec2.temp_c[:, g]).all()
    assert g in rec2.gpus_never_seen()
    assert np.isfinite(rec2.temp_c[rows][:, g + 1]).all()

    from colossus_gui.sim.replay import ReplayEngine
    rep = ReplayEngine(fac, rec2)
    rep.seek(float(rep.rel_times_s[rows[len(rows) // 2]]))
    r_, i_ = divmod(g, topo.gpus_per_rack)
    assert np.isnan(rep.tj[r_, i_]) and rep.gpu_missing()[r_, i_]
    assert np.isfinite(rep.rack_hottest_c[r_])  # the rest of the rack still reports

    # the server itself refuses more than 11,000 points per series; the chunked reader does not care
    step = 0.005  # whole milliseconds (Prometheus evaluates at ms resolution): > 11,000 points in a minute
    r = requests.get(f"{url}/api/v1/query_range", params={"query": "DCGM_FI_DEV_GPU_TEMP", "start": np.floor(t0),
                                                          "end": np.ceil(t1), "step": step}, timeout=30)
    assert r.status_code == 400 and "11,000" in r.text
    rec3 = fetch_prometheus(url, np.floor(t0), np.ceil(t1), step, topo, metrics=("DCGM_FI_DEV_GPU_TEMP",))
    assert rec3.n_samples > 11_000 and np.isfinite(rec3.temp_c).any()

    # the command line reads the same window and names the missing GPU count
    cli = _run_cli("telemetry", "--facility", str(fac_path), "--prometheus", url, "--from", str(np.floor(t0)),
                   "--to", str(np.ceil(t1)), "--step", "1", "--match", 'job="colossus"', "--summary", timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert "GPUs never seen: 1;" in cli.stdout
    cli = _run_cli("telemetry", "--facility", str(fac_path), "--prometheus", url, "--from", str(np.floor(t0)),
                   "--to", str(np.ceil(t1)), "--step", "1", "--match", 'job="other"', "--summary", timeout=120)
    assert cli.returncode == 0 and "GPUs never seen: 128;" in cli.stdout  # the matchers reach the server
    cli = _run_cli("telemetry", "--facility", str(fac_path), "--prometheus", url, "--from", str(np.floor(t0)),
                   "--to", str(np.ceil(t1)), "--match", "job=", "--summary", timeout=120)
    assert cli.returncode == 2 and "HTTP 400: 1:26: parse error" in cli.stderr and cli.stderr.count("\n") == 1
