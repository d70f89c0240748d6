"""The alarm list and the work-order board driven as an operator would: acknowledge from the list, create a
work order for a rack (what its context menu does), advance it, and watch the board and the simulation follow."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from colossus_gui.model.ops_config import OpsConfig
from colossus_gui.ops.workflow import OpsManager
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility
from colossus_gui.ui.alarm_panel import AlarmPanelWidget
from colossus_gui.ui.work_order_panel import WorkOrderPanelWidget


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
    assert board.proxy.index(row, 2).data() == "in progress"
    assert board.proxy.index(row, 8).data() == "Swap the GPU baseboard"
    assert "work order" in board.tech_table.item(0, 4).text()
    while wo.state != "closed":
        qtbot.mouseClick(board.advance_button, Qt.MouseButton.LeftButton)
    _step(eng, ops)
    assert eng.tray_available()[tray] and not eng.tray_slid_out[tray]
    board.refresh()
    assert board.visible_orders() == []
    board.closed_box.setChecked(True)
    assert [w.state for w in board.visible_orders()] == ["closed"]
    assert "closed" in board.figures_text.toPlainText()
    board.close()
