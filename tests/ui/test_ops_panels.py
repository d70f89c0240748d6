"""The alarm list and the work-order board driven as an operator would: acknowledge from the list, create a
work order for a rack (what its context menu does), advance it, and watch the board and the simulation follow."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from colossus_gui.model.ops_config import OpsConfig
from colossus_gui.ops.workflow import OpsManager
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility
from colossus_gui.ui.panels.alarm_panel import AlarmPanelWidget
from colossus_gui.ui.panels.work_order_panel import WorkOrderPanelWidget


@pytest.fixture
def sim():
    eng = Engine(small_facility(), seed=3)
    ops = OpsManager(eng, OpsConfig(dispatch="manual"), seed=3)
    for _ in range(30):
        eng.step()
        ops.step()
    return eng, ops


def _step(eng, ops, n=1):
    for _ in range(n):
        eng.step()
        ops.step()


def test_acknowledge_from_the_alarm_list(qtbot, sim):
    eng, ops = sim
    panel = AlarmPanelWidget(ops, eng, who="dana")
    qtbot.addWidget(panel)
    panel.show()
    counts = []
    panel.counts_changed.connect(counts.append)
    eng.inject("fan_failure", "H1-R002-RDHX-F1")
    eng.inject("chiller_trip", "CH2")
    eng.inject("gpu_failure", "H2-R001-T1-G1")
    _step(eng, ops, 2)
    panel.refresh()
    shown = panel.visible_alarms()
    assert {a.component for a in shown} >= {"H1-R002-RDHX", "CH2", "H2-R001-T1"}
    assert counts[-1]["unacknowledged"] == len(shown)
    assert "unacknowledged" in panel.counts_label.text()
    # filter by hall: only H1's alarms remain
    panel.hall_box.setCurrentIndex(panel.hall_box.findText("H1"))
    assert [a.component for a in panel.visible_alarms()] == ["H1-R002-RDHX"]
    panel.table.selectRow(0)
    qtbot.mouseClick(panel.ack_button, Qt.MouseButton.LeftButton)
    fan = ops.alarms.find("H1-R002-RDHX", "fan_state")
    assert fan.acked and fan.acked_by == "dana"
    assert not ops.alarms.find("CH2", "chiller_state").acked
    panel.hall_box.setCurrentIndex(0)
    qtbot.mouseClick(panel.ack_all_button, Qt.MouseButton.LeftButton)
    assert all(a.acked for a in ops.alarms.alarms())
    assert counts[-1]["unacknowledged"] == 0
    # double-click goes to the component
    with qtbot.waitSignal(panel.address_activated) as sig:
        panel.select_alarm(fan.id)
        idx = panel.table.selectionModel().selectedRows()[0]
        panel.table.doubleClicked.emit(idx)
    assert sig.args == ["H1-R002-RDHX"]
    panel.close()


def test_create_assign_and_advance_a_work_order_from_the_board(qtbot, sim):
    eng, ops = sim
    board = WorkOrderPanelWidget(ops, eng, who="trainee")
    qtbot.addWidget(board)
    board.show()
    wo = board.create_for("H1-R004-T2", note="from the rack's context menu")
    assert wo is not None and board.selected_id() == wo.id
    assert [w.id for w in board.visible_orders()] == [wo.id]
    assert "Drain the tray's jobs" in board.detail.toPlainText()
    # an unqualified technician: the board says why, nothing changes
    board.tech_box.clear()
    board.tech_box.addItem("Finley")
    qtbot.mouseClick(board.assign_button, Qt.MouseButton.LeftButton)
    assert "lacks the IT skill" in board.message.text() and wo.state == "open"
    board.refresh()
    assert board.tech_box.findText("Avery") >= 0 and board.tech_box.findText("Finley") < 0
    board.tech_box.setCurrentIndex(board.tech_box.findText("Avery"))
    qtbot.mouseClick(board.assign_button, Qt.MouseButton.LeftButton)
    assert wo.state == "assigned" and wo.technician == "Avery"
    tray = eng.parse("H1-R004-T2").index
    for _ in range(4):  # arrive, drain, power down, slide out
        qtbot.mouseClick(board.advance_button, Qt.MouseButton.LeftButton)
    _step(eng, ops)
    assert wo.state == "in_progress" and eng.tray_drained[tray] and eng.tray_slid_out[tray]
    board.refresh()
    row = board.visible_orders().index(wo)
    assert board.model.index(row, 2).data() == "in progress"
    assert board.model.index(row, 8).data() == "Swap the GPU baseboard"
    board.tabs.setCurrentWidget(board.tech_table)  # side tabs are filled when shown
    assert "work order" in board.tech_table.item(0, 4).text()
    board.tabs.setCurrentIndex(0)
    while wo.state != "closed":
        qtbot.mouseClick(board.advance_button, Qt.MouseButton.LeftButton)
    _step(eng, ops)
    assert eng.tray_available()[tray] and not eng.tray_slid_out[tray]
    board.refresh()
    assert board.visible_orders() == []
    board.closed_box.setChecked(True)
    assert [w.state for w in board.visible_orders()] == ["closed"]
    board.tabs.setCurrentWidget(board.figures_text)
    assert "closed 1" in board.figures_text.toPlainText()
    board.close()


# ============================================================================ the board at scale, in place
def test_board_updates_rows_in_place_and_keeps_the_selection(qtbot, sim):
    eng, ops = sim
    wos = [ops.create_work_order(eng.topo.tray_address(i), priority=1 + i % 4) for i in range(12)]
    board = WorkOrderPanelWidget(ops, eng)
    qtbot.addWidget(board)
    board.show()
    m = board.model
    seen = {"reset": 0, "changed": [], "inserted": [], "removed": []}
    m.modelReset.connect(lambda: seen.__setitem__("reset", seen["reset"] + 1))
    m.dataChanged.connect(lambda a, b, *_: seen["changed"].append((a.row(), b.row())))
    m.rowsInserted.connect(lambda _p, a, b: seen["inserted"].append((a, b)))
    m.rowsRemoved.connect(lambda _p, a, b: seen["removed"].append((a, b)))
    # sorted by priority (the dispatch order), the most urgent first
    assert [w.priority for w in board.visible_orders()] == sorted(w.priority for w in wos)
    target = wos[5]
    board.select_order(target.id)
    board.refresh()
    assert seen == {"reset": 0, "changed": [], "inserted": [], "removed": []}  # nothing moved: no signals
    ops.assign(target.id, "Avery")
    board.refresh()
    row = m.row_of(target.id)
    assert seen["changed"] == [(row, row)] and seen["reset"] == 0
    assert m.index(row, 5).data() == "Avery" and board.selected_id() == target.id
    extra = ops.create_work_order("H2-R004-T8", priority=1)
    board.refresh()
    assert seen["inserted"] == [(12, 12)] and m.row_of(extra.id) is not None
    assert board.visible_orders()[0].priority == 1 and board.selected_id() == target.id  # re-sorted, kept
    ops.cancel(wos[0].id)
    board.refresh()
    assert len(seen["removed"]) == 1 and wos[0] not in board.visible_orders()  # cancelled: filtered out
    for w in wos[6:11]:  # several leave in one refresh: the rows left are exactly the open ones, in order
        ops.cancel(w.id)
    board.refresh()
    live = [w for w in ops.work_orders.values() if w.state not in ("closed", "cancelled")]
    assert sorted(w.id for w in board.visible_orders()) == sorted(w.id for w in live)
    assert all(m.row_of(w.id) == r for r, w in enumerate(board.visible_orders()))
    assert [w.priority for w in board.visible_orders()] == sorted(w.priority for w in live)
    # a header click sorts by that column; the selection follows its order
    board.table.sortByColumn(3, Qt.SortOrder.DescendingOrder)
    targets = [w.target for w in board.visible_orders()]
    assert targets == sorted(targets, reverse=True) and board.selected_id() == target.id
    # the state filter and "closed too"
    board.state_box.setCurrentIndex(board.state_box.findData("assigned"))
    assert [w.id for w in board.visible_orders()] == [target.id]
    board.state_box.setCurrentIndex(0)
    board.closed_box.setChecked(True)
    assert wos[0] in board.visible_orders() and seen["reset"] >= 1  # filters reset, refreshes never do
    board.close()


def test_board_opens_a_workspace_of_10000_work_orders_with_history_from_the_database(qtbot, tmp_path):
    """The board of a long-running facility (its open time is a bench figure, not a test: a shared CI
    machine may be many times slower than a desk)."""
    from PySide6.QtWidgets import QApplication

    from colossus_gui.ops.bench_ops import generated_workspace, open_workspace

    path = tmp_path / "big.sqlite"
    run_id = generated_workspace(path, 10_000, 3_000)
    eng, store, ops = open_workspace(path, run_id)
    board = WorkOrderPanelWidget(ops, eng)
    qtbot.addWidget(board)
    board.resize(1200, 700)
    board.show()
    QApplication.processEvents()
    img = board.grab()  # the first paint, really drawn
    assert not img.isNull() and board.model.rowCount() == 3_000 + 1  # and the template's fresh order
    # the closed history stays in the database: only the open orders are loaded in full
    assert len(ops.work_orders) == 3_000 + 1
    # a 1 Hz refresh after one change updates rows in place, not a rebuild
    resets = board.model.resets
    first = board.visible_orders()[0]
    ops.set_priority(first.id, 4)
    board.refresh()
    assert board.model.resets == resets and board.visible_orders()[-1].priority == 4
    # the whole history: 10,000 rows from the database's summaries
    board.closed_box.setChecked(True)
    QApplication.processEvents()
    board.grab()
    assert board.model.rowCount() == 10_002
    hist = next(w for w in board.visible_orders() if w.state == "closed" and w.id >= 1000)
    assert len(board.lookup(hist.id).steps) == 7  # a history row opens in full from the database
    board.close()
    store.close()


# ============================================================================ undo
@pytest.fixture
def board(qtbot, sim):
    eng, ops = sim
    b = WorkOrderPanelWidget(ops, eng, who="trainee")
    qtbot.addWidget(b)
    b.show()
    yield b
    b.close()


def test_undo_create_then_redo(board):
    ops = board.ops
    wo = board.create_for("H1-R004-T2", note="planned")
    assert board.undo_stack.canUndo() and "create work order" in board.undo_stack.undoText()
    board.undo()
    assert wo.id not in ops.work_orders and board.visible_orders() == []
    assert ops.backlog()["open"] == 0
    board.redo()
    assert ops.work_orders[wo.id] is wo and wo.state == "open"
    assert [w.id for w in board.visible_orders()] == [wo.id]


def test_undo_priority_note_and_cancel(board):
    ops = board.ops
    wo = board.create_for("H2-R003-RDHX-F4")
    old = wo.priority
    board.set_priority(wo.id, 1)
    board.add_note(wo.id, "ladder needed")
    assert wo.priority == 1 and wo.notes[-1].endswith("trainee: ladder needed")
    board.undo()  # the note
    assert not any("ladder" in n for n in wo.notes)
    board.undo()  # the priority
    assert wo.priority == old
    assert board.model.index(board.model.row_of(wo.id), 1).data() == str(old)
    board.redo()
    assert wo.priority == 1
    # cancel while assigned, before any simulated time: undo reopens it and sends the same technician
    board.assign(wo.id, "Finley")
    board.cancel(wo.id)
    assert wo.state == "cancelled" and ops.roster.by_name["Finley"].free
    board.undo()
    assert wo.state == "assigned" and wo.technician == "Finley"


def test_undo_is_unavailable_once_the_dispatch_has_started(board):
    eng, ops = board.engine, board.ops
    wo = board.create_for("H1-R002-T5")
    board.set_priority(wo.id, 1)
    assert board.undo_stack.count() == 2
    board.assign(wo.id, "Avery")
    board.refresh()
    assert board.undo_stack.canUndo()  # assigned, but no simulated time yet: the priority can still go back
    _step(eng, ops)  # Avery starts walking
    board.refresh()
    assert not board.undo_stack.canUndo() and board.undo_stack.count() == 0
    board.undo()  # nothing happens, nothing breaks
    assert wo.state == "assigned" and wo.priority == 1
    # an edit on an order already under way is done but not offered for undo
    board.add_note(wo.id, "on site soon")
    assert not board.undo_stack.canUndo()


def test_a_stale_command_reached_by_undo_says_why_and_leaves(board):
    """The board was not refreshed (hidden dock) when the simulation moved on: Ctrl+Z says why it cannot."""
    eng, ops = board.engine, board.ops
    ops.set_dispatch_mode("auto")
    wo = board.create_for("H1-R001-RDHX-F1")
    _step(eng, ops)  # auto dispatch picks it up
    _step(eng, ops)
    assert wo.state == "assigned"
    board.undo_stack.undo()  # straight on the stack, as the Edit menu's action does
    assert wo.id in ops.work_orders and wo.state == "assigned"
    assert "Cannot undo" in board.message.text() and "dispatched" in board.message.text()
    assert board.undo_stack.count() == 0


def test_alarm_selection_survives_a_refresh(qtbot, sim):
    eng, ops = sim
    panel = AlarmPanelWidget(ops, eng)
    qtbot.addWidget(panel)
    panel.show()
    eng.inject("fan_failure", "H1-R002-RDHX-F1")
    eng.inject("fan_failure", "H2-R003-RDHX-F2")
    _step(eng, ops, 2)
    panel.refresh()
    fan = ops.alarms.find("H2-R003-RDHX", "fan_state")
    panel.select_alarm(fan.id)
    eng.inject("chiller_trip", "CH1")  # a new alarm: the list is rebuilt
    _step(eng, ops, 2)
    panel.refresh()
    assert ops.alarms.find("CH1", "chiller_state") in panel.visible_alarms()
    assert panel.selected_ids() == [fan.id]
    panel.close()


def test_no_undo_when_the_manager_cannot_take_edits_back(qtbot, sim):
    """A proxy that logs every operator action (a training session's) has no reversal methods: the board
    still works through it, but offers no undo."""
    eng, ops = sim

    class LoggingOps:
        def __init__(self, inner):
            self.inner, self.log = inner, []

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def create_work_order(self, target, **kw):
            self.log.append(("create", target))
            return self.inner.create_work_order(target, **kw)

    proxy = LoggingOps(ops)
    board = WorkOrderPanelWidget(proxy, eng)
    qtbot.addWidget(board)
    wo = board.create_for("H1-R001-T1")
    assert proxy.log == [("create", "H1-R001-T1")] and wo.id in ops.work_orders
    assert not board.undo_enabled and not board.undo_stack.canUndo()
    board.close()
