"""The Studies window as a user drives it: open a study, run it, watch the table and curve fill in, open a run
in the main window re-simulated from its seed; a bad study file gets a dialog with the one-line problem.

The cluster here runs its worker as a thread in this process (quick to start); the process cluster is
exercised in tests/core/test_study_cluster.py and by the CLI tests.
"""

from __future__ import annotations

import pytest

pytest.importorskip("distributed")

from colossus_gui.ops.study import run_task  # noqa: E402
from colossus_gui.testing import small_facility, write_study_files  # noqa: E402
from colossus_gui.ui.main_window import MainWindow  # noqa: E402
from colossus_gui.ui.studies_window import StudiesWindow  # noqa: E402


def _thread_cluster(n):
    from distributed import LocalCluster
    return LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0")


@pytest.fixture
def windows(qtbot):
    main = MainWindow(small_facility(), seed=3, paused=True)
    main.driver.set_timer_enabled(False)
    qtbot.addWidget(main)
    win = StudiesWindow(main_window=main, cluster_factory=_thread_cluster)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield main, win
    win.shutdown()
    main.shutdown()


def test_run_a_study_watch_it_fill_in_and_open_a_run(qtbot, tmp_path, windows):
    main, win = windows
    path = write_study_files(tmp_path / "s", seeds=2, duration=600,
                             grid={"jobs.0.checkpoint_interval_s": [60, 120, 240]})
    assert win.open_study(path, out_dir=tmp_path / "out")
    assert "tiny study" in win.windowTitle() and "keep its job going" in win.question_label.text()
    assert win.table.rowCount() == 3 and win.runs_table.rowCount() == 0
    win.run_button.click()
    qtbot.waitUntil(lambda: not win.running, timeout=90000)
    assert not hasattr(win, "last_error"), getattr(win, "last_error", "")
    assert win.progress.value() == win.progress.maximum() == 6
    assert win.runs_table.rowCount() == 6
    assert all(win.table.item(i, 1).text() == "2" for i in range(3))
    (xs, ys), = win.curve_data()
    assert list(xs) == [60, 120, 240] and all(0 < y <= 1 for y in ys)
    # open the last run: the main window shows an engine re-simulated to the run's end, same figures
    win.runs_table.selectRow(5)
    with qtbot.waitSignal(win.run_opened, timeout=60000) as sig:
        assert win.open_selected_run()
    run = sig.args[0]
    assert main.engine is run.engine and run.engine.t == pytest.approx(600)
    task = win.loaded.runs()[-1].task()
    assert run.summary() == run_task(task)["summary"]
    assert main.seed == task["seed"]


def test_a_bad_study_file_gets_a_dialog_naming_field_and_value(qtbot, tmp_path, windows):
    _main, win = windows
    path = write_study_files(tmp_path / "s", grid={"site.megapacks.units": ["lots"]})
    assert not win.open_study(path)
    assert "site.megapacks.units" in win.last_error and "'lots'" in win.last_error
    from PySide6.QtWidgets import QMessageBox
    box = win.findChild(QMessageBox, "studyErrorBox")
    assert box is not None and box.isVisible() and "site.megapacks.units" in box.text()
    box.close()
