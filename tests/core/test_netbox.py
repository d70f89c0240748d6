"""NetBox import of the hand-made export in tests/data/netbox (one site, two data halls, 20 racks of HGX
servers, leaf switches, CDUs, power panels and feeds): the facility validates and runs, every server is
a tray at the right place, and what cannot be mapped is listed with its NetBox id."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from colossus_gui.io.loader import load_facility
from colossus_gui.io.netbox import NetboxError, build_facility, read_folder, write_outputs
from colossus_gui.model.facility import Facility
from colossus_gui.sim.engine import Engine

DATA = Path(__file__).resolve().parents[1] / "data" / "netbox"


@pytest.fixture(scope="module")
def result():
    return build_facility(read_folder(DATA), source=str(DATA))


def test_layout_maps_halls_rows_racks_trays(result):
    f = result.facility
    assert [(h.name, h.rows, h.racks_per_row, h.gpu_model) for h in f.halls] == [
        ("H1", 2, 5, "H100"), ("H2", 2, 5, "H100")]
    assert f.n_racks == 20 and f.rack.trays == 8
    assert result.racks["Memphis Colossus / Data Hall 1 / A01"] == "H1-R001"
    assert result.racks["Memphis Colossus / Data Hall 1 / B01"] == "H1-R006"  # row B is the second row
    assert result.racks["Memphis Colossus / Data Hall 2 / DH2-B-03"] == "H2-R008"  # rows as child locations
    # 19 racks x 8 servers + rack B05 with 6; each server a tray, bottom-up by position
    assert len(result.hosts) == 158
    assert result.hosts["gpu-001-1"] == "H1-R001-T1" and result.hosts["gpu-001-8"] == "H1-R001-T8"
    assert result.hosts["gpu-011-2"] == "H2-R001-T2"  # a Dell XE9680 (role gpu-server) counts too


def test_unmapped_things_are_listed_with_their_id(result):
    by_id = {(u.endpoint, u.id): u for u in result.unmapped}
    odd = by_id[("dcim.devices", 1199)]
    assert odd.name == "cs3-lab-01" and "device type 'CS-3'" in odd.reason
    assert sum(1 for u in result.unmapped if "DCS-7060DX5" in u.reason) == 20  # one leaf switch per rack
    assert ("dcim.power-panels", 1) in by_id and ("dcim.power-panels", 2) in by_id
    assert "not attached" in by_id[("dcim.power-feeds", 41)].reason
    pad = [u for u in result.unmapped if u.endpoint == "padding"]
    assert len(pad) == 1 and "B05 has 6 GPU servers: T7-T8" in pad[0].reason
    # CDUs are the racks' own and the 40 rack feeds are checked, not listed
    assert not any("cdu-" in u.name for u in result.unmapped)
    assert not any(u.endpoint == "dcim.power-feeds" and u.id != 41 for u in result.unmapped)
    mapped = len(result.hosts) + 20  # servers + CDUs
    devices = sum(len(json.loads(p.read_text())["results"]) for p in DATA.glob("devices-*.json"))
    assert mapped + sum(1 for u in result.unmapped if u.endpoint == "dcim.devices") == devices  # none dropped


def test_written_facility_validates_and_runs(result, tmp_path):
    out = tmp_path / "imported.yaml"
    write_outputs(result, out, tmp_path / "imported.hosts.yaml")
    fac = load_facility(out)
    assert fac.n_gpus == 20 * 64
    eng = Engine(fac, seed=1)
    eng.run(600)
    s = eng.summary()
    assert 1.05 < s["pue_mean"] < 1.6
    assert s["gpu_temp_max_c"] < fac.gpu_model("H100").t_max_op_c  # the site is sized for the racks
    assert s["battery_soc_min"] > 0.5 and s["goodput"] > 0.9
    assert "cs3-lab-01" in out.read_text()  # the unmapped list heads the file as comments
    from colossus_gui.io.dcgm import load_host_map
    hm = load_host_map(tmp_path / "imported.hosts.yaml", eng.topo)
    assert hm.gpu_index({"Hostname": "gpu-020-6", "gpu": "7"}) == eng.topo.parse("H2-R010-T6-G8").index


def test_an_unknown_gpu_model_is_listed_not_guessed(tmp_path):
    shutil.copytree(DATA, tmp_path / "nb")
    p = tmp_path / "nb" / "devices-1.json"
    doc = json.loads(p.read_text())
    dev = next(d for d in doc["results"] if d["name"] == "gpu-001-3")
    dev["device_type"] = {"id": 9, "model": "HGX B200 8-GPU", "manufacturer": {"name": "Supermicro"}}
    p.write_text(json.dumps(doc))
    res = build_facility(read_folder(tmp_path / "nb"))
    u = next(u for u in res.unmapped if u.id == dev["id"])
    assert "B200 is not in the facility's gpu_models" in u.reason
    assert "gpu-001-3" not in res.hosts and res.hosts["gpu-001-4"] == "H1-R001-T3"


def test_bad_exports_are_one_line(tmp_path):
    with pytest.raises(NetboxError, match="not a folder"):
        read_folder(tmp_path / "missing")
    (tmp_path / "racks.json").write_text("{not json")
    with pytest.raises(NetboxError, match=r"racks.json: not JSON"):
        read_folder(tmp_path)
    (tmp_path / "racks.json").write_text(json.dumps({"count": 3, "next": "x", "previous": None,
                                                     "results": [{"id": 1, "name": "A"}]}))
    with pytest.raises(NetboxError, match="count says 3 records but the pages hold 1; save every page"):
        read_folder(tmp_path)
    (tmp_path / "racks.json").write_text(json.dumps({"results": [{"name": "A"}]}))
    with pytest.raises(NetboxError, match=r"results.0: a record needs an 'id'"):
        read_folder(tmp_path)


def test_rows_padded_to_the_longest_are_listed():
    recs = read_folder(DATA)
    recs["racks"] = [r for r in recs["racks"] if r["name"] != "A05"]
    res = build_facility(recs)
    assert res.facility.halls[0].racks_per_row == 5
    pad = [u for u in res.unmapped if u.endpoint == "padding" and u.name == "H1-R005"]
    assert pad and "has 4 racks, the longest 5" in pad[0].reason
    assert np.all([a != "H1-R005" for a in res.racks.values()])


def test_live_netbox_through_pynetbox(tmp_path, monkeypatch):
    """The same export served by a stand-in NetBox API on 127.0.0.1 (paged, token checked): pynetbox reads
    every page and the result is the same facility as from the folder."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlparse

    from colossus_gui.io.netbox import ENDPOINTS, read_live
    records = read_folder(DATA)
    seen_paths = []

    class NetBox(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            u = urlparse(self.path)
            seen_paths.append(u.path)
            if self.headers.get("Authorization") != "Token secret-token":
                self.send_error(403)
                return
            ep = u.path.strip("/").split("/")[-1]
            if u.path.rstrip("/") == "/api" or ep not in ENDPOINTS:
                body = {}
            else:
                q = parse_qs(u.query)
                off, lim = int(q.get("offset", ["0"])[0]), 50  # the server's page size, whatever was asked
                rows = records[ep]
                nxt = (f"http://127.0.0.1:{self.server.server_address[1]}{u.path}?limit={lim}&offset={off + lim}"
                       if off + lim < len(rows) else None)
                body = {"count": len(rows), "next": nxt, "previous": None, "results": rows[off:off + lim]}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("API-Version", "4.1")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), NetBox)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}"
        monkeypatch.delenv("NETBOX_TOKEN", raising=False)
        with pytest.raises(NetboxError, match="set NETBOX_TOKEN"):
            read_live(url)
        monkeypatch.setenv("NETBOX_TOKEN", "wrong")
        with pytest.raises(NetboxError, match="403"):
            read_live(url)
        monkeypatch.setenv("NETBOX_TOKEN", "secret-token")
        live = read_live(url)
    finally:
        srv.shutdown()
        srv.server_close()
        th.join(timeout=5)
    assert {ep: len(v) for ep, v in live.items()} == {ep: len(v) for ep, v in records.items()}
    assert sum(p.endswith("/dcim/devices/") for p in seen_paths) >= 4  # 199 devices in pages of 50
    a, b = build_facility(live), build_facility(records)
    assert a.data["halls"] == b.data["halls"] and a.hosts == b.hosts
    assert [(u.endpoint, u.id) for u in a.unmapped] == [(u.endpoint, u.id) for u in b.unmapped]


def test_power_feeds_are_checked_against_rack_design_power():
    recs = read_folder(DATA)
    for f in recs["power-feeds"]:
        if f["name"] == "A03-A":
            f["amperage"] = 60  # 415 V 3-phase 60 A at 80 %: 34.5 kW for a ~66 kW rack (the others: 125 A, 72 kW)
            f["type"] = "primary"  # a bare choice value is read too
    res = build_facility(recs)
    short = [n for n in res.notes if "power feeds" in n]
    kw = 415 * 60 * 3 ** 0.5 * 0.8 / 1e3
    need = Facility.model_validate({"name": "x", "halls": [{"name": "H1"}]}).rack.design_power_w(
        Facility.model_validate({"name": "x", "halls": [{"name": "H1"}]}).gpu_model("H100")) / 1e3
    assert 60 <= need <= 82  # 8 HGX H100 servers at ~8.4 kW each, plus the rack's CDU and door
    assert short == [f"H1-R003: primary power feeds carry {kw:.0f} kW, below the rack's design load {need:.0f} kW"]
