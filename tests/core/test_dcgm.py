"""DCGM telemetry in (saved scrapes, query_range JSON) and out (the metrics endpoint), and the replay engine
the views read: values arrive unchanged, a missing sample stays missing (NaN, never 0), XID errors and
row-remap failures raise the tray's alarm and a work order."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from colossus_gui.io.dcgm import (
    SIM_TIME_METRIC,
    TelemetryError,
    decode_matrix,
    load_host_map,
    load_scrape_folder,
    query_chunks,
)
from colossus_gui.io.metrics_endpoint import EngineMetrics, MetricsServer
from colossus_gui.sim.engine import Engine
from colossus_gui.sim.replay import GpuRecording, ReplayEngine, record_engine
from colossus_gui.testing import small_facility

EPOCH0 = 1_764_590_400  # 2025-12-01 12:00:00 UTC


@pytest.fixture(scope="module")
def fac():
    return small_facility(halls=1, rows=1, racks_per_row=2)  # 128 GPUs, 16 hosts


def _scrapes(fac, folder, n=8, every_s=15):
    """Run the engine, save the endpoint's text every ``every_s`` as dcgm-exporter scrapes; return the
    engine's own temperatures at those moments."""
    eng = Engine(fac, seed=4)
    m = EngineMetrics(eng)
    reg = CollectorRegistry(auto_describe=False)
    reg.register(m)
    own = []
    for k in range(n):
        eng.run(every_s)
        m.publish()
        (folder / f"dcgm-{EPOCH0 + k * every_s}.prom").write_bytes(generate_latest(reg))
        own.append(eng.tj.ravel().copy())
    return eng, np.array(own)


def test_saved_scrapes_give_the_engines_own_values(fac, tmp_path):
    eng, own = _scrapes(fac, tmp_path)
    rec = load_scrape_folder(tmp_path, eng.topo)
    assert rec.n_samples == 8 and rec.n_gpus == 128
    assert np.array_equal(rec.times_s, EPOCH0 + 15.0 * np.arange(8))  # time from the file names
    assert np.array_equal(rec.temp_c, own)  # exact: float32 printed at full precision
    assert np.isfinite(rec.power_w).all() and (rec.power_w > 100).all()
    assert (rec.xid == 0).all() and (rec.row_remap_failure == 0).all()
    assert rec.unmapped == []
    assert np.allclose(rec.extra[SIM_TIME_METRIC], 15.0 * np.arange(1, 9))


def test_missing_samples_stay_missing_never_zero(fac, tmp_path):
    eng, own = _scrapes(fac, tmp_path, n=4)
    files = sorted(tmp_path.glob("*.prom"))
    # GPU 3 of host H1-R001-T2 is absent from the third scrape; host H1-R002-T8 from every scrape
    lines = files[2].read_text().splitlines()
    files[2].write_text("\n".join(ln for ln in lines if not ('gpu="3"' in ln and "H1-R001-T2" in ln)) + "\n")
    for f in files:
        f.write_text("\n".join(ln for ln in f.read_text().splitlines() if "H1-R002-T8" not in ln) + "\n")
    rec = load_scrape_folder(tmp_path, eng.topo)
    g = eng.topo.parse("H1-R001-T2-G4").index
    assert np.isnan(rec.temp_c[2, g]) and np.isfinite(rec.temp_c[[0, 1, 3], g]).all()
    host = eng.topo.parse("H1-R002-T8").index * 8
    assert np.isnan(rec.temp_c[:, host:host + 8]).all()
    assert set(rec.gpus_never_seen()) == set(range(host, host + 8))
    rep = ReplayEngine(fac, rec)
    rep.seek(rep.rel_times_s[2])
    r, i = divmod(g, 64)
    assert np.isnan(rep.tj[r, i]) and rep.gpu_missing().sum() == 9
    # rack figures use what did report: the hottest of the other 63 GPUs, not 0 and not NaN
    assert rep.rack_hottest_c[r] == pytest.approx(float(np.delete(own[2].reshape(2, 64)[r], i).max()))
    # ... but its power is unknown: a sum without one GPU would read as a lighter load
    assert np.isnan(rep.rack_power_w[r])
    assert rep.telemetry.series("it_mw")[2] == pytest.approx(np.nansum(rec.power_w[2], dtype=np.float64) / 1e6)
    # a rack with nobody reporting is unknown
    rec.temp_c[:, 64:] = np.nan
    rec.power_w[:, 64:] = np.nan
    rep2 = ReplayEngine(fac, rec)
    assert np.isnan(rep2.rack_hottest_c[1]) and np.isnan(rep2.rack_power_w[1])
    assert rep2.telemetry.series("hottest_gpu_c")[0] == pytest.approx(own[0][:64].max())


def test_sample_timestamps_win_over_file_names(fac, tmp_path):
    eng = Engine(fac, seed=1)
    m = EngineMetrics(eng)
    reg = CollectorRegistry(auto_describe=False)
    reg.register(m)
    text = generate_latest(reg).decode()
    stamped = "\n".join(ln + f" {(EPOCH0 + 7) * 1000}" if ln and not ln.startswith("#") else ln
                        for ln in text.splitlines()) + "\n"
    (tmp_path / "a-1000000000.prom").write_text(stamped)
    rec = load_scrape_folder(tmp_path, eng.topo)
    assert rec.times_s.tolist() == [EPOCH0 + 7]


def test_bad_scrape_names_file_and_line(fac, tmp_path):
    (tmp_path / "x-1764590400.prom").write_text('DCGM_FI_DEV_GPU_TEMP{gpu="0",Hostname="H1-R001-T1"} 40\n'
                                                'DCGM_FI_DEV_GPU_TEMP{gpu="1",Hostname="H1-R001-T1" 41\n')
    eng = Engine(fac)
    with pytest.raises(TelemetryError, match=r"x-1764590400.prom: line 2"):
        load_scrape_folder(tmp_path, eng.topo)
    (tmp_path / "empty").mkdir()
    with pytest.raises(TelemetryError, match="empty: no scrape files"):
        load_scrape_folder(tmp_path / "empty", eng.topo)


def test_host_map_names_real_hosts(fac, tmp_path):
    eng = Engine(fac)
    mp = tmp_path / "hosts.yaml"
    mp.write_text("hosts:\n  node-a: H1-R002-T1\ngpus:\n  node-b/0: H1-R001-T1-G8\n")
    hm = load_host_map(mp, eng.topo)
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "t-1764590400.prom").write_text(
        'DCGM_FI_DEV_GPU_TEMP{gpu="2",Hostname="node-a"} 55.5\n'
        'DCGM_FI_DEV_GPU_TEMP{gpu="0",Hostname="node-b"} 44\n'
        'DCGM_FI_DEV_GPU_TEMP{gpu="0",Hostname="node-zz"} 99\n'
        'DCGM_FI_DEV_GPU_TEMP{gpu="7",Hostname="H1-R001-T1"} 45\n')
    rec = load_scrape_folder(tmp_path / "s", eng.topo, hm)
    assert rec.temp_c[0, eng.topo.parse("H1-R002-T1-G3").index] == 55.5
    assert np.isfinite(rec.temp_c[0]).sum() == 2  # node-zz is no GPU of the facility ...
    assert any("node-zz" in u for u in rec.unmapped)  # ... and is listed, not dropped silently
    # node-b/0 and the tray-address host name both name H1-R001-T1-G8: listed as a conflict
    assert rec.temp_c[0, eng.topo.parse("H1-R001-T1-G8").index] in (44, 45)
    assert len(rec.conflicts) == 1 and rec.conflicts[0].startswith("H1-R001-T1-G8: ")
    assert "node-b" in rec.conflicts[0] and 'Hostname="H1-R001-T1"' in rec.conflicts[0]
    mp.write_text("hosts:\n  node-a: H1-R009-T1\n")
    with pytest.raises(TelemetryError, match=r"hosts.yaml: hosts.node-a: .*H1 has racks R001-R002"):
        load_host_map(mp, eng.topo)
    mp.write_text("hosts:\n  node-a: H1-R001\n")
    with pytest.raises(TelemetryError, match="is a rack; a host maps to a tray"):
        load_host_map(mp, eng.topo)


def _matrix(series):
    return {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": lab, "values": [[t, v] for t, v in vals]} for lab, vals in series]}}


def test_query_range_decoding_matches_json():
    rng = np.random.default_rng(0)
    series = []
    for i in range(20):
        n = int(rng.integers(0, 50))
        ts = 1.7e9 + np.sort(rng.choice(10_000, n, replace=False)) * 0.5
        vals = [f"{v:.17g}" for v in rng.normal(60, 10, n)]
        if n > 3:
            vals[1], vals[2] = "NaN", "+Inf"
        series.append(({"__name__": "DCGM_FI_DEV_GPU_TEMP", "gpu": str(i), "Hostname": f"n,[x]\"{i}"},
                       list(zip(ts.tolist(), vals, strict=True))))
    for body in (json.dumps(_matrix(series)).encode(), json.dumps(_matrix(series), indent=2).encode(),
                 json.dumps(_matrix(series), separators=(",", ":")).encode()):
        out = decode_matrix(body)
        assert len(out) == 20
        for (lab, ts, vals), (lab0, pairs) in zip(out, series, strict=True):
            assert lab == lab0
            assert np.array_equal(ts, [p[0] for p in pairs])
            assert np.array_equal(vals, np.array([float(p[1]) for p in pairs]), equal_nan=True)


def test_query_range_errors_are_one_line():
    with pytest.raises(TelemetryError, match="bad_data: invalid parameter"):
        decode_matrix(b'{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\""}')
    with pytest.raises(TelemetryError, match="resultType 'vector'"):
        decode_matrix(b'{"status":"success","data":{"resultType":"vector","result":[]}}')
    with pytest.raises(TelemetryError, match="unreadable sample values"):
        decode_matrix(b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},'
                      b'"values":[[1,"4x"],[2,"5"]]}]}}')


def test_query_chunks_stay_under_the_server_limit():
    for start, end, step in ((0, 86_400, 1), (5, 5, 15), (0, 10_000 * 15, 15), (0, 99.99, 0.01)):
        ch = query_chunks(start, end, step)
        pts = [round((b - a) / step) + 1 for a, b in ch]
        assert max(pts) <= 10_000 < 11_000
        assert ch[0][0] == start and abs(ch[-1][1] - end) < step
        assert all(abs(b2[0] - (b1[1] + step)) < 1e-6 for b1, b2 in zip(ch, ch[1:], strict=False))  # no gap


def test_decoding_is_fast():
    """>= 1 million samples per second of CPU time from a query_range body (CPU time, not wall: the
    machine may be shared; ``colossus-gui bench`` prints both)."""
    n_series, n = 256, 2000
    vals = np.round(np.random.default_rng(1).normal(60, 5, (n_series, n)), 3)
    res = [{"metric": {"gpu": str(i % 8), "Hostname": f"h{i // 8}"},
            "values": [[1.7e9 + 15 * k, repr(float(v))] for k, v in enumerate(vals[i])]} for i in range(n_series)]
    body = json.dumps({"status": "success", "data": {"resultType": "matrix", "result": res}}).encode()
    best = min(_timed(lambda: decode_matrix(body)) for _ in range(3))
    assert n_series * n / best >= 1e6, f"{n_series * n / best / 1e6:.2f} M samples/s"


def _timed(fn) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def _recording(fac, seconds=300):
    return record_engine(Engine(fac, seed=2), seconds, 15.0)


def test_xid_and_row_remap_raise_alarms_and_work_orders(fac):
    from colossus_gui.ops.workflow import OpsManager
    rec = _recording(fac)
    g_xid, g_remap = 10, 100
    rec.xid[5:, g_xid] = 79
    rec.row_remap_failure[8:, g_remap] = 1
    rep = ReplayEngine(fac, rec)
    ops = OpsManager(rep, seed=0)
    rep.seek(rep.rel_times_s[9])
    ops.step(0.0)
    ops.alarms.evaluate(rep, force=True)
    active = {a.component: a for a in ops.alarms.active()}
    t_xid, t_remap = rep.topo.tray_address(g_xid // 8), rep.topo.tray_address(g_remap // 8)
    assert set(active) == {t_xid, t_remap}
    assert rep.topo.gpu_address(g_xid) in active[t_xid].detail
    assert not rep.gpu_ok.ravel()[[g_xid, g_remap]].any() and rep.gpu_ok.sum() == 126
    ev = {e.address: e.detail for e in rep.events if e.kind == "fault_started"}
    assert "XID 79" in ev[rep.topo.gpu_address(g_xid)] and "row-remap" in ev[rep.topo.gpu_address(g_remap)]
    wo = ops.create_work_order(rep.topo.gpu_address(g_xid))
    assert wo is not None and wo.target.startswith(t_xid)
    # back before the errors: the GPUs report healthy again and the alarms clear
    rep.seek(rep.rel_times_s[2])
    ops.step(0.0)
    ops.alarms.evaluate(rep, force=True)
    assert rep.gpu_ok.all() and not ops.alarms.active()


def test_replay_plays_forward_and_stops_at_the_end(fac):
    rec = _recording(fac, 120)
    rep = ReplayEngine(fac, rec)
    assert rep.index == 0 and rep.end_t == 120
    # alarms and work orders of real telemetry go to a workspace of their own, not the simulation's
    assert rep.facility.name == "small-telemetry" and rep.facility_name == "small"
    for _ in range(14):
        rep.step(1.0)
    assert rep.index == 0  # 14 s in: still the first 15 s sample
    rep.step(1.0)
    assert rep.index == 1 and np.array_equal(rep.tj.ravel(), rec.temp_c[1])
    rep.run(1000)
    assert rep.at_end and rep.index == rec.n_samples - 1
    assert len(rep.telemetry.series("t_s")) == rec.n_samples  # the charts see the whole recording so far
    rep.seek(30)
    assert len(rep.telemetry.series("t_s")) == 3


def test_recording_must_match_the_facility(fac):
    rec = GpuRecording(np.array([0.0]), *(np.zeros((1, 64), np.float32) for _ in range(4)))
    with pytest.raises(ValueError, match="recording has 64 GPUs, facility 'small' has 128"):
        ReplayEngine(fac, rec)


def test_metrics_endpoint_serves_dcgm_names_on_localhost_only(fac):
    import requests
    eng = Engine(fac, seed=3)
    srv = MetricsServer(eng, 0)
    try:
        assert srv._server.server_address[0] == "127.0.0.1"
        eng.run(20)
        eng.inject("gpu_failure", "H1-R001-T1-G2")
        eng.inject("hbm_failure", "H1-R002-T3-G1")
        eng.step()
        srv.publish()
        text = requests.get(f"http://127.0.0.1:{srv.port}/metrics", timeout=10).text
        fams = {f.name: f for f in text_string_to_metric_families(text)}
        temp = fams["DCGM_FI_DEV_GPU_TEMP"].samples
        assert len(temp) == 128
        assert set(temp[0].labels) == {"gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname"}
        assert temp[0].labels["modelName"] == "NVIDIA H100 80GB HBM3"
        assert len({s.labels["UUID"] for s in temp}) == 128
        by = {(s.labels["Hostname"], s.labels["gpu"]): s.value for s in fams["DCGM_FI_DEV_XID_ERRORS"].samples}
        assert by[("H1-R001-T1", "1")] == 79 and by[("H1-R002-T3", "0")] == 48
        assert sum(v != 0 for v in by.values()) == 2
        remap = {(s.labels["Hostname"], s.labels["gpu"]): s.value
                 for s in fams["DCGM_FI_DEV_ROW_REMAP_FAILURE"].samples}
        assert remap[("H1-R002-T3", "0")] == 1 and sum(remap.values()) == 1
        assert fams[SIM_TIME_METRIC].samples[0].value == 21
        power = {s.labels["kind"]: s.value for s in fams["colossus_power_watts"].samples}
        assert power["it"] == pytest.approx(eng.it_w, rel=1e-6)
        pue = fams["colossus_pue_ratio"].samples[0].value
        assert pue > 1.0 and pue == pytest.approx(eng.facility_w / eng.it_w, rel=1e-6)
        assert 0 < fams["colossus_megapack_soc_ratio"].samples[0].value <= 1
        water = {s.labels["side"]: s.value for s in fams["colossus_water_temperature_celsius"].samples}
        assert water["supply"] == pytest.approx(eng.t_fs)
        assert "colossus_goodput_ratio" in fams
    finally:
        srv.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{srv.port}/metrics", timeout=2)
