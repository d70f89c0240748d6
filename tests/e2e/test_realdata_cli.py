"""``import-netbox`` and ``telemetry`` as a user runs them: files written, facts printed, and bad input is one
line naming file/URL and problem with exit code 2 and nothing written."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from colossus_gui.cli import main
from colossus_gui.io.metrics_endpoint import EngineMetrics
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility

NETBOX = Path(__file__).resolve().parents[1] / "data" / "netbox"


def test_import_netbox_writes_a_valid_facility_and_lists_the_rest(tmp_path, capsys):
    out = tmp_path / "site" / "facility.yaml"
    assert main(["import-netbox", str(NETBOX), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 halls, 20 racks, 1,280 GPUs; 158 GPU servers mapped" in printed
    assert "dcim.devices #1199 'cs3-lab-01': device type 'CS-3'" in printed
    assert (tmp_path / "site" / "facility.hosts.yaml").is_file()
    assert main(["validate", str(out)]) == 0
    assert "valid facility 'memphis-colossus'" in capsys.readouterr().out
    assert main(["run", "--facility", str(out), "--duration", "120", "--out", str(tmp_path / "run"), "--quiet"]) == 0


def test_import_netbox_bad_source_is_one_line(tmp_path, capsys):
    (tmp_path / "nb").mkdir()
    (tmp_path / "nb" / "racks.json").write_text("[]")
    out = tmp_path / "f.yaml"
    assert main(["import-netbox", str(tmp_path / "nb"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no racks" in err and str(tmp_path / "nb") in err
    assert not out.exists()
    assert main(["import-netbox", "http://127.0.0.1:9/", "--out", str(out)]) == 2  # no NETBOX_TOKEN set
    assert "NETBOX_TOKEN" in capsys.readouterr().err


def _scrapes(fac, folder: Path, n: int = 5) -> None:
    eng = Engine(fac, seed=1)
    m = EngineMetrics(eng)
    reg = CollectorRegistry(auto_describe=False)
    reg.register(m)
    folder.mkdir()
    for k in range(n):
        eng.run(15)
        m.publish()
        (folder / f"dcgm-{1764590400 + 15 * k}.prom").write_bytes(generate_latest(reg))


def test_telemetry_summary_reads_a_scrape_folder(tmp_path, capsys):
    fac = small_facility(halls=1, rows=1, racks_per_row=2)
    fpath = tmp_path / "f.json"
    fpath.write_text(fac.model_dump_json())
    _scrapes(fac, tmp_path / "scrapes")
    assert main(["telemetry", str(tmp_path / "scrapes"), "--facility", str(fpath), "--summary"]) == 0
    out = capsys.readouterr().out
    assert "5 samples over 60 s from 2025-12-01 12:00:00Z, 128 GPUs of 'small'" in out
    assert "GPUs never seen: 0; samples missing: 0.0%" in out


@pytest.mark.parametrize("args, message", [
    (["--summary"], "give SOURCE"),
    (["nowhere", "--summary"], "nowhere: not a folder of saved scrapes"),
    (["--prometheus", "http://127.0.0.1:9", "--summary"], "--prometheus needs --from"),
    (["--prometheus", "ftp://x", "--from", "0", "--summary"], "expected http://HOST:PORT"),
    (["--prometheus", "http://127.0.0.1:9", "--from", "now", "--to", "now-1h", "--summary"], "end must be after"),
    (["--prometheus", "http://127.0.0.1:9", "--from", "yesterday", "--summary"], "'yesterday' is not a time"),
])
def test_telemetry_bad_arguments_are_one_line(args, message, capsys):
    assert main(["telemetry", "--facility", "colossus", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err


def test_telemetry_bad_map_and_unreachable_server(tmp_path, capsys):
    fac = small_facility(halls=1, rows=1, racks_per_row=2)
    fpath = tmp_path / "f.json"
    fpath.write_text(fac.model_dump_json())
    _scrapes(fac, tmp_path / "s", n=1)
    mp = tmp_path / "hosts.yaml"
    mp.write_text("hosts:\n  node-1: H7-R001-T1\n")
    assert main(["telemetry", str(tmp_path / "s"), "--facility", str(fpath), "--map", str(mp), "--summary"]) == 2
    assert "hosts.yaml: hosts.node-1: 'H7-R001-T1': no hall H7" in capsys.readouterr().err
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert main(["telemetry", "--facility", str(fpath), "--prometheus", f"http://127.0.0.1:{port}", "--from",
                 "now-1m", "--summary"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"http://127.0.0.1:{port}: ConnectionError" in err


def test_run_metrics_port_in_use_is_refused(tmp_path, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["run", "--duration", "5", "--facility", "colossus", "--metrics-port", str(port),
                     "--out", str(tmp_path / "o")]) == 2
    assert f"--metrics-port {port}: cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert not (tmp_path / "o" / "summary.json").exists()
