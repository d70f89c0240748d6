"""Export from the GUI as a user does it: PNGs of views and charts, CSVs that reload to the engine's numbers,
snapshot bundles that resume the same future, and clear messages (with nothing half-written) when the disk is
full, the bundle is foreign or the user cancels."""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import unittest.mock as um
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMainWindow, QMessageBox, QProgressDialog, QVBoxLayout, QWidget

from colossus_gui.io import tables
from colossus_gui.sim.engine import Engine
from colossus_gui.sim.telemetry import UNITS
from colossus_gui.testing import small_facility
from colossus_gui.ui.export import export_dialog as xd
from colossus_gui.ui.export import render
from colossus_gui.ui.export.export_dialog import KINDS, ExportDialog, open_snapshot, save_snapshot
from colossus_gui.ui.panels.charts import ChartPanelWidget
from colossus_gui.ui.sim_driver import SimDriver
from colossus_gui.ui.views.hall_view import HallView


@pytest.fixture
def engine():
    e = Engine(small_facility(), seed=3)
    e.run(120)
    return e


@pytest.fixture
def errors(monkeypatch):
    """Error boxes the code shows, captured instead of shown: list of (title, text)."""
    seen: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda _p, title, text, *a, **k: seen.append(
        (title, text)) or QMessageBox.StandardButton.Ok))
    return seen


def _show(qtbot, w, size):
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    return w


def _pixels(img: QImage) -> np.ndarray:
    """(h, w, 3) uint8 RGB copy of a QImage."""
    img = img.convertToFormat(QImage.Format.Format_RGB32)
    h, w = img.height(), img.width()
    a = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes()).reshape(h, img.bytesPerLine() // 4, 4)
    return a[:, :w, 2::-1].copy()  # BGRA in memory on little-endian -> RGB


def _distinct(rgb: np.ndarray) -> int:
    flat = rgb.reshape(-1, 3).astype(np.uint32)
    return len(np.unique((flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ================================================================================================ PNG
@pytest.mark.parametrize("scale", [1, 2])
def test_view_png_has_expected_size_content_and_caption(qtbot, tmp_path, engine, scale):
    hall = _show(qtbot, HallView(), (800, 600))
    hall.set_engine(engine)
    hall.set_hall(1)
    dlg = ExportDialog(engine, current_view=hall)
    qtbot.addWidget(dlg)
    dlg.set_kind("view_png")
    dlg.scale_combo.setCurrentIndex(dlg.scale_combo.findData(scale))
    out = tmp_path / "hall.png"
    dlg.set_path(out)
    assert dlg.export() == out

    img = QImage(str(out))
    cap = render.caption_height()
    assert (img.width(), img.height()) == (800 * scale, (600 + cap) * scale)
    rgb = _pixels(img)
    view, strip = rgb[:600 * scale], rgb[600 * scale:]
    # a hall of racks, busways, pipes and text: many colours, and not one of them covering everything
    assert _distinct(view) > 40
    assert np.mean(np.all(view == view[0, 0], axis=2)) < 0.9
    # the caption strip: dark ground, a blue rule on top, light text on it
    assert np.allclose(strip[cap * scale // 2, 2], (0x0D, 0x10, 0x14), atol=3)
    assert np.allclose(strip[0, 400 * scale], (0x2F, 0x7F, 0xD1), atol=3)
    assert (strip.min(axis=2) > 180).sum() > 200 * scale * scale
    if scale == 2:  # drawn at 2x, not a 1x picture blown up: neighbouring pixels differ at glyph edges
        assert not np.array_equal(rgb[0::2, 0::2], rgb[1::2, 1::2])


def test_png_caption_names_facility_view_and_simulated_time(engine):
    left, right = render.make_caption(engine, "rack H1-R002")
    assert left.startswith("small") and "rack H1-R002" in left
    assert "0d 00:02:00" in right and "Colossus GUI" in right


# ================================================================================================ CSV
def test_gpu_csv_from_dialog_reloads_to_engine_tj_exactly(qtbot, tmp_path, engine):
    dlg = ExportDialog(engine)
    qtbot.addWidget(dlg)
    dlg.set_kind("gpus_csv")
    out = tmp_path / "gpus.csv"
    dlg.set_path(out)
    dlg.show()
    dlg.export_button.click()  # as the user does: the dialog writes and closes
    assert dlg.result() == ExportDialog.DialogCode.Accepted
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    assert len(rows) == engine.n_gpus
    tj = np.array([r["junction_c"] for r in rows], dtype=np.float32)
    assert np.array_equal(tj, engine.tj.ravel())
    assert rows[0]["address"] == "H1-R001-T1-G1" and rows[-1]["address"] == engine.topo.gpu_address(engine.n_gpus - 1)
    assert _leftovers(tmp_path) == ["gpus.csv"]


def test_chart_csv_visible_range_and_all(qtbot, tmp_path, engine):
    charts = _show(qtbot, ChartPanelWidget(engine), (900, 700))
    charts.set_range(60.0)
    charts.redraw(force=True)
    dlg = ExportDialog(engine, charts=charts)
    qtbot.addWidget(dlg)
    dlg.set_kind("chart_csv")
    dlg.set_chart("gpu")

    def rows(path):
        with open(path, newline="") as fh:
            return list(csv.DictReader(fh))

    dlg.set_path(tmp_path / "visible.csv")
    dlg.range_combo.setCurrentIndex(dlg.range_combo.findData("visible"))
    vis = rows(dlg.export())
    dlg.set_path(tmp_path / "all.csv")
    dlg.range_combo.setCurrentIndex(dlg.range_combo.findData("all"))
    every = rows(dlg.export())

    t_all = engine.telemetry.series("t_s")
    assert len(every) == len(t_all)
    (x0, x1), _ = charts.master.getViewBox().viewRange()
    t_vis = np.array([float(r["time_s"]) for r in vis])
    assert t_vis.min() >= x0 and t_vis.max() <= x1 and 55 <= len(vis) <= 62  # the last minute of 2
    chans = ["hottest_gpu_c", "p99_gpu_c", "mean_gpu_c"]  # the GPU chart's curves, units in the headers
    assert list(vis[0]) == ["time_s", "iso_time"] + [f"{c} [{UNITS[c]}]" for c in chans]
    hottest = np.array([float(r[f"hottest_gpu_c [{UNITS['hottest_gpu_c']}]"]) for r in every])
    assert np.array_equal(hottest, engine.telemetry.series("hottest_gpu_c"))


def test_every_kind_writes_a_file_that_opens(qtbot, tmp_path, engine):
    engine.inject("pump_failure", "H1-R002-CDU-P1")
    engine.run(20)
    win = QMainWindow()
    central = QWidget()
    lay = QVBoxLayout(central)
    hall = HallView()
    charts = ChartPanelWidget(engine)
    lay.addWidget(hall, 2)
    lay.addWidget(charts, 3)
    win.setCentralWidget(central)
    _show(qtbot, win, (1000, 900))
    hall.set_engine(engine)
    charts.redraw(force=True)
    for key, _, ext in KINDS:
        dlg = ExportDialog(engine, window=win, current_view=hall, charts=charts)
        qtbot.addWidget(dlg)
        dlg.set_kind(key)
        if key == "chart_png":
            dlg.set_chart("power")
        out = tmp_path / f"{key}.{ext}"
        dlg.set_path(out)
        assert dlg.export() == out, key
        if ext == "png":
            img = QImage(str(out))
            assert not img.isNull() and _distinct(_pixels(img)) > 20, key
            if key == "window_png":
                assert img.width() == win.width()
            if key == "chart_png":  # one chart, with its own time axis, wider than tall
                assert img.width() > img.height() > render.caption_height()
        else:
            lines = [ln for ln in out.read_text().splitlines() if not ln.startswith("#")]
            expected_rows = {"racks_csv": engine.n_racks, "gpus_csv": engine.n_gpus, "events_csv": len(engine.events),
                             "chart_csv": len(engine.telemetry.series("t_s"))}[key]
            if key == "chart_csv":  # visible range of the charts (5 min, the default) holds all 140 s
                assert "it_mw [MW]" in lines[0]
            assert len(lines) - 1 == expected_rows, key
    assert "H1-R002-CDU-P1" in (tmp_path / "events_csv.csv").read_text()
    assert sorted(_leftovers(tmp_path)) == sorted(f"{k}.{e}" for k, _, e in KINDS)


# ================================================================================================ errors
def test_full_disk_gives_a_message_and_leaves_nothing(qtbot, tmp_path, engine, errors, monkeypatch):
    real_open = tables.atomic_open

    class FullDisk:
        def __init__(self, fh):
            self.fh, self.n = fh, 0

        def write(self, text):
            self.n += 1
            if self.n >= 3:  # past the comment and header lines: the disk fills up with the data
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.fh.write(text)

    @contextlib.contextmanager
    def failing_open(path, *a, **k):
        with real_open(path, *a, **k) as fh:
            yield FullDisk(fh)

    monkeypatch.setattr(tables, "atomic_open", failing_open)
    dlg = ExportDialog(engine)
    qtbot.addWidget(dlg)
    dlg.set_kind("gpus_csv")
    out = tmp_path / "gpus.csv"
    dlg.set_path(out)
    assert dlg.export() is None
    assert len(errors) == 1
    title, text = errors[0]
    assert str(out) in text and "No space left on device" in text and "Nothing was written" in text
    assert _leftovers(tmp_path) == []  # neither the file nor its temporary


def test_png_to_missing_folder_and_failed_save_give_messages(qtbot, tmp_path, engine, errors, monkeypatch):
    hall = _show(qtbot, HallView(), (500, 400))
    hall.set_engine(engine)
    dlg = ExportDialog(engine, current_view=hall)
    qtbot.addWidget(dlg)
    dlg.set_kind("view_png")
    dlg.set_path(tmp_path / "gone" / "hall.png")
    assert dlg.export() is None
    assert "does not exist" in errors[-1][1] and "gone" in errors[-1][1]
    monkeypatch.setattr(QImage, "save", lambda *a, **k: False)  # what Qt reports on a full disk
    dlg.set_path(tmp_path / "hall.png")
    assert dlg.export() is None
    assert "hall.png" in errors[-1][1] and "could not write" in errors[-1][1]
    assert _leftovers(tmp_path) == []


# ================================================================================================ snapshots
def test_snapshot_from_gui_reopens_and_gives_the_same_future(qtbot, tmp_path):
    fac = small_facility(failures=True)  # random failures: the future depends on the random state too
    eng = Engine(fac, seed=11)
    eng.run(150)
    parent = _show(qtbot, QMainWindow(), (640, 400))  # a shown main window: its picture goes in too
    driver = SimDriver(eng, speed=100.0)
    driver.start()
    seen_t = []
    real = render.bundle_png_writers

    def watching(e, **k):  # the engine must not move while the bundle is written
        w = real(e, **k)
        w["probe.png"] = ("probe", lambda p: (seen_t.append(e.t), w["site.png"][1](p)))
        return w

    try:
        with um.patch.object(render, "bundle_png_writers", watching):
            out = save_snapshot(parent, eng, driver, path=tmp_path / "snap.zip")
        assert out == tmp_path / "snap.zip" and driver.running  # resumed after writing
    finally:
        driver.stop()
    assert seen_t == [150.0] and eng.t == 150.0
    with zipfile.ZipFile(out) as z:
        manifest = json.loads(z.read("manifest.json"))
        for name in ("site.png", "hall.png", "gpus.png", "rack.png", "tray.png", "charts.png"):
            assert name in manifest["files"]
            assert QImage.fromData(z.read(name)).size().toTuple() == (render.IMAGE_W, render.IMAGE_H)
        window = QImage.fromData(z.read("window.png"))
        assert window.size().toTuple() == (640, 400 + render.caption_height())

    reopened = open_snapshot(parent, out)
    assert reopened is not None and reopened.t == 150.0
    uninterrupted = Engine(fac, seed=11)
    uninterrupted.run(150 + 600)
    reopened.run(600)
    assert reopened.summary() == uninterrupted.summary()
    assert np.array_equal(reopened.tj, uninterrupted.tj)


def test_foreign_or_damaged_bundle_gives_a_message_and_changes_nothing(qtbot, tmp_path, errors):
    parent = _show(qtbot, QWidget(), (300, 200))
    foreign = tmp_path / "dashboard"
    foreign.mkdir()
    (foreign / "manifest.json").write_text(json.dumps({"format": "grafana-dashboard", "panels": []}))
    before = {p: p.read_bytes() for p in foreign.iterdir()}
    assert open_snapshot(parent, foreign / "manifest.json") is None
    assert str(foreign) in errors[-1][1] and "not a Colossus GUI snapshot" in errors[-1][1]
    assert {p: p.read_bytes() for p in foreign.iterdir()} == before

    junk = tmp_path / "photos.zip"
    junk.write_bytes(b"not a zip at all")
    assert open_snapshot(parent, junk) is None
    assert "photos.zip" in errors[-1][1] and "not a snapshot bundle" in errors[-1][1]
    assert len(errors) == 2


def test_cancel_during_bundle_writing_leaves_no_files(qtbot, tmp_path, engine):
    parent = _show(qtbot, QWidget(), (300, 200))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    real = render.bundle_png_writers

    def cancelling(e, **k):  # the user presses Cancel while the second image is being drawn
        w = real(e, **k)
        name = list(w)[1]
        desc, write = w[name]

        def press_cancel(p):
            write(p)
            parent.findChild(QProgressDialog, "snapshotProgressDialog").cancel()
        w[name] = (desc, press_cancel)
        return w

    driver = SimDriver(engine)
    with um.patch.object(render, "bundle_png_writers", cancelling):
        assert save_snapshot(parent, engine, driver, path=out_dir / "snap") is None
    assert _leftovers(out_dir) == []
    assert not driver.running  # it was paused before: it stays paused


def test_snapshot_on_full_disk_gives_a_message_and_leaves_nothing(qtbot, tmp_path, engine, errors):
    parent = _show(qtbot, QWidget(), (300, 200))
    real = render.bundle_png_writers

    def full(e, **k):
        w = real(e, **k)

        def enospc(p):
            Path(p).write_bytes(b"\x89PNG half")  # part of a file, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        w["gpus.png"] = ("fails", enospc)
        return w

    with um.patch.object(render, "bundle_png_writers", full):
        assert save_snapshot(parent, engine, path=tmp_path / "snap.zip") is None
    assert "snap.zip" in errors[-1][1] and "No space left on device" in errors[-1][1]
    assert _leftovers(tmp_path) == []


def test_default_names_and_remembered_folder(qtbot, tmp_path, engine):
    dlg = ExportDialog(engine)
    qtbot.addWidget(dlg)
    dlg.set_kind("racks_csv")
    assert Path(dlg.path_edit.text()).name == "small-racks-0d-00h02m00s.csv"
    dlg.set_path(tmp_path / "r.csv")
    assert dlg.export() is not None
    again = ExportDialog(engine)
    qtbot.addWidget(again)
    again.set_kind("events_csv")
    assert Path(again.path_edit.text()).parent == tmp_path  # the folder used last time
    assert xd.default_snapshot_name(engine) == "small-snapshot-0d-00h02m00s.zip"
