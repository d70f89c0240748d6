"""The work-order detail dialog as an operator uses it: open it from the board, read the order's steps and
times, act on it, see errors in words, and watch it follow the simulation; then the whole path through the
main window -- a tray's context menu creates the order, the dialog advances it, the driver runs, and the
board, the rack view and the engine follow. Undo/Redo from the Edit menu."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from colossus_gui.io.store import Store
from colossus_gui.model.ops_config import OpsConfig
from colossus_gui.ops.workflow import OpsManager
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility
from colossus_gui.ui.panels.work_order_dialog import WorkOrderDetailDialog
from colossus_gui.ui.panels.work_order_panel import WorkOrderPanelWidget
from colossus_gui.ui.sim_driver import format_clock


def _step(eng, ops, n=1):
    for _ in range(n):
        eng.step()
        ops.step()


@pytest.fixture
def stored(tmp_path):
    eng = Engine(small_facility(), seed=4)
    store = Store(tmp_path / "ops.sqlite")
    ops = OpsManager(eng, OpsConfig(dispatch="manual"), store=store, seed=4)
    _step(eng, ops, 10)
    yield eng, ops
    store.close()


def test_dialog_shows_the_order_and_follows_its_steps(qtbot, stored):
    eng, ops = stored
    board = WorkOrderPanelWidget(ops, eng, who="dana")
    qtbot.addWidget(board)
    board.show()
    wo = board.create_for("H1-R003-T4", note="fans loud")
    # double-click on the board opens the (non-modal) dialog
    idx = board.model.index(board.model.row_of(wo.id), 3)
    board.table.doubleClicked.emit(idx)
    dlg = board.findChild(WorkOrderDetailDialog, "workOrderDetailDialog")
    assert dlg is not None and dlg.isVisible() and not dlg.isModal()
    assert board.open_details(wo.id) is dlg  # one dialog per order, raised again
    assert dlg.field_text("id") == str(wo.id) and dlg.target_button.text() == "H1-R003-T4"
    assert dlg.field_text("created").startswith(format_clock(wo.created_t)) and dlg.field_text("assigned") == "–"
    assert dlg.steps_table.rowCount() == len(wo.steps) == 7
    assert dlg.steps_table.item(0, 0).text() == "1. Drain the tray's jobs"
    assert dlg.steps_table.item(3, 1).text() == f"{wo.steps[3].planned_s:.0f} s"
    assert "fans loud" in dlg.notes_view.toPlainText()
    assert dlg.step_progress() is None  # nothing runs yet
    # the audit log comes from the workspace database: who, when, from -> to
    assert dlg.audit_label.text() == "From the workspace database."
    assert dlg.audit_rows()[0][2:4] == ["dana", "– → open"]
    # clicking the target goes there
    with qtbot.waitSignal(board.address_activated) as sig:
        qtbot.mouseClick(dlg.target_button, Qt.MouseButton.LeftButton)
    assert sig.args == ["H1-R003-T4"]
    # an error is a message naming the problem, the order unchanged
    qtbot.mouseClick(dlg.advance_button, Qt.MouseButton.LeftButton)
    assert "assign a technician first" in dlg.message.text() and wo.state == "open"
    dlg.tech_box.clear()
    dlg.tech_box.addItem("Finley")  # a mechanic for an IT job
    qtbot.mouseClick(dlg.assign_button, Qt.MouseButton.LeftButton)
    assert "lacks the IT skill" in dlg.message.text()
    dlg.refresh(force=True)
    dlg.tech_box.setCurrentIndex(dlg.tech_box.findText("Avery"))
    qtbot.mouseClick(dlg.assign_button, Qt.MouseButton.LeftButton)
    assert dlg.message.text() == "" and wo.state == "assigned"
    assert dlg.field_text("technician") == "Avery" and dlg.field_text("assigned") == format_clock(ops.t)
    assert ["dana", "open → assigned"] == dlg.audit_rows()[-1][2:4]
    # priority and note from the dialog, on the board's undo stack
    dlg.priority_spin.setValue(1)
    qtbot.mouseClick(dlg.priority_button, Qt.MouseButton.LeftButton)
    assert wo.priority == 1 and dlg.field_text("priority").startswith("1")
    dlg.note_edit.setText("bring the torque driver")
    qtbot.mouseClick(dlg.note_button, Qt.MouseButton.LeftButton)
    assert wo.notes[-1].endswith("dana: bring the torque driver") and dlg.note_edit.text() == ""
    board.undo()
    dlg.refresh()
    assert "torque" not in dlg.notes_view.toPlainText()
    # the technician walks, arrives, the drain runs: the running step's bar moves at 1 Hz
    _step(eng, ops, int(wo.travel_s) + 2)
    dlg.refresh()
    assert wo.state == "in_progress" and dlg.field_text("started") == format_clock(wo.started_t)
    assert dlg.steps_table.item(0, 3).text() == "running"
    before = dlg.step_progress()
    _step(eng, ops, 60)
    dlg.refresh()
    after = dlg.step_progress()
    elapsed = ops.t - wo.steps[0].started_t
    assert 0 < before < after == pytest.approx(elapsed / wo.steps[0].drawn_s, abs=2e-3)
    assert dlg.steps_table.item(0, 2).text() == f"{elapsed:.0f} s so far"
    # advance finishes the drain now: done, with its actual time; the next step runs
    qtbot.mouseClick(dlg.advance_button, Qt.MouseButton.LeftButton)
    assert dlg.steps_table.item(0, 3).text() == "done"
    assert dlg.steps_table.item(0, 2).text() == f"{wo.steps[0].actual_s:.0f} s"
    assert dlg.steps_table.item(1, 3).text() == "running"
    assert "in progress" in dlg.field_text("state")
    # no undo once the order acted on the simulation
    assert not board.undo_stack.canUndo()
    qtbot.mouseClick(dlg.cancel_button, Qt.MouseButton.LeftButton)
    assert wo.state == "cancelled" and not dlg.advance_button.isEnabled()
    assert not eng.tray_drained[eng.parse("H1-R003-T4").index]
    dlg.close()
    assert not dlg.timer.isActive()
    board.close()


def test_dialog_without_a_database_shows_the_event_log_and_a_withdrawn_order(qtbot):
    eng = Engine(small_facility(), seed=4)
    ops = OpsManager(eng, OpsConfig(dispatch="manual"), seed=4)
    wo = ops.create_work_order("H2-R001-RDHX-F2")
    ops.assign(wo.id, "Finley")
    dlg = WorkOrderDetailDialog(ops, wo.id)  # standalone: acts on OpsManager directly
    qtbot.addWidget(dlg)
    dlg.show()
    assert "No workspace database" in dlg.audit_label.text()
    kinds = [r[4] for r in dlg.audit_rows()]
    assert kinds[0].startswith("wo created") and kinds[1].startswith("wo assigned: Finley")
    qtbot.mouseClick(dlg.advance_button, Qt.MouseButton.LeftButton)  # Finley arrives now
    assert wo.state == "in_progress" and any(r[4].startswith("tech arrived") for r in dlg.audit_rows())
    dlg.close()
    # an order whose creation was undone: the dialog says so and offers no action
    other = ops.create_work_order("H1-R001-T1")
    ops.withdraw(other.id)
    dlg2 = WorkOrderDetailDialog(ops, other.id)
    qtbot.addWidget(dlg2)
    assert "withdrawn" in dlg2.field_text("state")
    assert not any(b.isEnabled() for b in (dlg2.advance_button, dlg2.cancel_button, dlg2.note_button))
    dlg2.close()


# ============================================================================ through the main window
@pytest.fixture
def win(qtbot):
    from colossus_gui.ui.main_window import MainWindow

    w = MainWindow(small_facility(), seed=3, paused=True)
    w.driver.set_timer_enabled(False)  # tests tick the driver themselves
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.shutdown()


def test_context_menu_work_order_advanced_from_its_dialog_and_the_views_follow(win):
    address = "H1-R004-T2"
    tray = win.engine.parse(address).index
    win.navigate("H1-R004")
    rack_x0 = win.rack_view.tray_rect(1).x()
    # the tray's context menu (as the rack view shows it): Create work order
    menu = win.fault_menu(address)
    menu.findChild(type(menu.actions()[0]), "createWorkOrderAction").trigger()
    menu.close()
    board = win.work_order_panel
    wo = next(w for w in win.ops.work_orders.values() if w.target == address)
    assert board.selected_id() == wo.id and wo.state == "open"
    # Edit -> Undo takes it back, Redo brings it back (nothing has reached the simulation yet)
    assert win.act_undo.isEnabled() and "create work order" in win.act_undo.text()
    win.act_undo.trigger()
    assert wo.id not in win.ops.work_orders and board.visible_orders() == []
    win.act_redo.trigger()
    assert win.ops.work_orders[wo.id] is wo
    board.select_order(wo.id)
    # Edit -> Work order details… opens the selected order
    dlg = win.show_work_order_details()
    assert dlg is not None and dlg.objectName() == "workOrderDetailDialog" and dlg.wo_id == wo.id
    dlg.advance_button.click()  # automatic dispatch: the nearest free IT technician, now
    assert wo.state == "assigned" and wo.technician
    assert not win.act_undo.isEnabled()  # dispatched: its creation can no longer be undone
    win.driver.set_speed(60)
    win.driver.start()
    steps_seen = set()
    for _ in range(800):  # up to 30 simulated s per tick (fewer on a loaded machine: the driver keeps to its budget)
        win.driver.tick_once(1.0)
        dlg.refresh()
        if wo.current_step is not None:
            steps_seen.add(wo.current_step.name)
        if wo.current_step is not None and wo.current_step.name == "swap_baseboard":
            break
    assert {"drain", "power_down", "slide_out", "swap_baseboard"} <= steps_seen
    # the engine obeyed the workflow: the tray is drained and slid out
    assert win.engine.tray_drained[tray] and win.engine.tray_slid_out[tray]
    assert not win.engine.tray_available()[tray]
    # the board follows
    win.refresh_text()
    board.refresh()
    row = board.model.row_of(wo.id)
    assert board.model.index(row, 2).data() == "in progress"
    assert board.model.index(row, 8).data() == "Swap the GPU baseboard"
    assert not win.act_undo.isEnabled()  # the order reached the simulation: nothing to undo
    # the dialog follows: three steps done, the swap running with its bar
    assert [dlg.steps_table.item(r, 3).text() for r in range(4)] == ["done", "done", "done", "running"]
    assert dlg.step_progress() is not None and 0 <= dlg.step_progress() < 1
    # the rack view draws the tray pulled out of its slot
    win.refresh_views(force=True)
    assert win.rack_view.tray_rect(1).x() != rack_x0
    # advance to the end from the dialog: the tray comes back into the pool
    while wo.state != "closed":
        dlg.advance_button.click()
    win.driver.tick_once(1.0)
    assert win.engine.tray_available()[tray] and not win.engine.tray_slid_out[tray]
    board.refresh()
    assert wo not in board.visible_orders()
    dlg.refresh()
    assert dlg.field_text("finished") == format_clock(wo.finished_t) and dlg.step_progress() is None
    dlg.close()


def test_export_dialog_offers_alarms_and_work_orders_with_ops(win, tmp_path):
    from colossus_gui.ui.export.export_dialog import ALL_KINDS, KINDS, ExportDialog

    win.create_work_order("H2-R002-T3")
    plain = ExportDialog(win.engine)
    model = plain.kind_combo.model()
    i = plain.kind_combo.findData("work_orders_csv")
    assert i >= 0 and not model.item(i).isEnabled()  # no operations layer: greyed out
    plain.close()
    dlg = ExportDialog(win.engine, ops=win.ops)
    for key in ("alarms_csv", "work_orders_csv"):
        assert dlg.kind_combo.model().item(dlg.kind_combo.findData(key)).isEnabled()
    dlg.set_kind("work_orders_csv")
    assert dlg.default_name().endswith(".csv") and "work-orders" in dlg.default_name()
    dlg.set_path(tmp_path / "wo.csv")
    assert dlg.export() == tmp_path / "wo.csv"
    text = (tmp_path / "wo.csv").read_text()
    assert "H2-R002-T3" in text and "created_time_s" in text
    dlg.set_kind("alarms_csv")
    dlg.set_path(tmp_path / "alarms.csv")
    assert dlg.export() is not None and "raised_time_s" in (tmp_path / "alarms.csv").read_text()
    assert {k for k, _, _ in ALL_KINDS} - {k for k, _, _ in KINDS} == {"alarms_csv", "work_orders_csv"}
    dlg.close()
