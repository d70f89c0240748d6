"""The event log panel shows the alarms' and the work orders' new events with readable text and colours."""

from PySide6.QtCore import Qt

from colossus_gui.model.ops_config import OpsConfig
from colossus_gui.ops.workflow import OpsManager
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility
from colossus_gui.ui.panels.event_log import EventLogView
from colossus_gui.ui.theme import severity_color


def test_alarm_and_work_order_changes_read_as_text_in_the_event_log(qtbot):
    eng = Engine(small_facility(), seed=3)
    ops = OpsManager(eng, OpsConfig(dispatch="manual"), seed=5)
    view = EventLogView()
    qtbot.addWidget(view)
    view.set_engine(eng)
    eng.run(30)
    ops.step()
    eng.inject("pump_failure", "H1-R002-CDU-P1")
    for _ in range(10):
        eng.step()
        ops.step()
    alarm = ops.alarms.find("H1-R002-CDU", "pump_state")
    ops.acknowledge([alarm.id], who="dana")
    wo = next(w for w in ops.work_orders.values() if w.target == "H1-R002-CDU-P1")
    ops.set_priority(wo.id, 1, who="dana")
    ops.add_note(wo.id, "spare pump on the cart", who="dana")
    view.pull()
    m = view.log_model
    rows = {m.data(m.index(r, 1)): r for r in range(m.rowCount())}
    assert {"alarm raised", "alarm acknowledged", "wo priority changed", "wo note added"} <= set(rows)
    raised = next(r for r in range(m.rowCount()) if m.event_at(r).kind == "alarm_raised"
                  and m.event_at(r).index == alarm.id)
    assert m.data(m.index(raised, 1)) == "alarm raised"
    assert m.data(m.index(raised, 2)) == "H1-R002-CDU"
    assert "H1-R002-CDU-P1" in m.data(m.index(raised, 3))  # the detail names the failed pump
    # a raise is coloured by the alarm's severity (a single failed pump: a warning)
    assert m.data(m.index(raised, 1), Qt.ItemDataRole.ForegroundRole) == severity_color(alarm.severity, m.dark)
    assert "by dana" in m.data(m.index(rows["alarm acknowledged"], 1), Qt.ItemDataRole.ToolTipRole)
    # double-click on an alarm's row goes to the alarmed component
    seen = []
    view.address_activated.connect(seen.append)
    view._on_double_clicked(m.index(raised, 0))
    assert seen == ["H1-R002-CDU"]
