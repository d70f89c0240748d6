"""The trainee's plant controls in a training session: GPU power caps and load shedding per hall, the facility
water setpoint, isolating a rack remotely, and a job's checkpoints. Every button is a logged trainee action
of the session (alarms and work orders stay with the ordinary alarm and work-order panels)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from ..theme import set_severity


class TraineeControlsWidget(QWidget):
    acted = Signal(object)  # the ActionRecord

    def __init__(self, session, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("traineeControls")
        self.session = session
        self.last_error = ""
        eng = session.engine
        self.hall_box = QComboBox(objectName="controlHall")
        self.hall_box.addItem("all halls", None)
        for h in eng.topo.hall_names:
            self.hall_box.addItem(h, h)
        self.watts = _spin("controlWatts", float(eng.rack_pmin_w.min()), float(eng.rack_tdp_w.max()), 550.0, 10.0,
                           " W")
        self.cap_button = QPushButton("Cap GPU power", objectName="controlCap")
        self.uncap_button = QPushButton("Remove cap", objectName="controlUncap")
        self.shed = _spin("controlShed", 0.0, 1.0, 0.3, 0.05, "")
        self.shed_button = QPushButton("Shed load", objectName="controlShedButton")
        self.setpoint = _spin("controlSetpoint", 10.0, 50.0, float(eng.facility.site.supply_setpoint_c), 0.5, " C")
        self.setpoint_button = QPushButton("Set supply setpoint", objectName="controlSetpointButton")
        self.rack_edit = QLineEdit(objectName="controlRack")
        self.rack_edit.setPlaceholderText("rack, e.g. H2-R014")
        self.isolate_button = QPushButton("Isolate rack", objectName="controlIsolate")
        self.restore_button = QPushButton("Restore rack", objectName="controlRestore")
        self.job_box = QComboBox(objectName="controlJob")
        for j in eng.jobs:
            self.job_box.addItem(j.name)
        self.interval = _spin("controlInterval", 30.0, 86400.0, 600.0, 30.0, " s")
        self.interval_button = QPushButton("Set checkpoint interval", objectName="controlIntervalButton")
        self.ckpt_button = QPushButton("Checkpoint now", objectName="controlCheckpoint")
        self.message = QLabel(objectName="controlMessage")
        self.message.setWordWrap(True)
        g = QGridLayout(self)
        rows = [(QLabel("Hall"), self.hall_box, self.watts, self.cap_button, self.uncap_button),
                (QLabel("Shed fraction"), self.shed, self.shed_button),
                (QLabel("Facility supply"), self.setpoint, self.setpoint_button),
                (QLabel("Rack"), self.rack_edit, self.isolate_button, self.restore_button),
                (QLabel("Job"), self.job_box, self.interval, self.interval_button, self.ckpt_button)]
        for r, ws in enumerate(rows):
            for c, w in enumerate(ws):
                g.addWidget(w, r, c)
        g.addWidget(self.message, len(rows), 0, 1, 5)
        self.cap_button.clicked.connect(self._on_cap_clicked)
        self.uncap_button.clicked.connect(self._on_uncap_clicked)
        self.shed_button.clicked.connect(self._on_shed_clicked)
        self.setpoint_button.clicked.connect(self._on_setpoint_clicked)
        self.isolate_button.clicked.connect(self._on_isolate_clicked)
        self.restore_button.clicked.connect(self._on_restore_clicked)
        self.interval_button.clicked.connect(self._on_interval_clicked)
        self.ckpt_button.clicked.connect(self._on_ckpt_clicked)

    def act(self, action: str, **args):
        rec = self.session.do(action, who="trainee", **args)
        self.last_error = "" if rec.ok else (rec.error or "")
        self.message.setText(f"{action}: done" if rec.ok else (rec.error or ""))
        set_severity(self.message, 0 if rec.ok else 2)  # the theme's critical colour for a refusal
        self.acted.emit(rec)
        return rec

    def _on_cap_clicked(self) -> None:
        self.act("power_cap", hall=self.hall_box.currentData(), watts=self.watts.value())

    def _on_uncap_clicked(self) -> None:
        self.act("power_cap", hall=self.hall_box.currentData())

    def _on_shed_clicked(self) -> None:
        self.act("shed_load", hall=self.hall_box.currentData(), fraction=self.shed.value())

    def _on_setpoint_clicked(self) -> None:
        self.act("set_setpoint", supply_c=self.setpoint.value())

    def _on_isolate_clicked(self) -> None:
        self.act("isolate_rack", target=self.rack_edit.text().strip())

    def _on_restore_clicked(self) -> None:
        self.act("restore_rack", target=self.rack_edit.text().strip())

    def _on_interval_clicked(self) -> None:
        self.act("set_checkpoint_interval", job=self.job_box.currentText(), interval_s=self.interval.value())

    def _on_ckpt_clicked(self) -> None:
        self.act("checkpoint_now", job=self.job_box.currentText() or None)


def _spin(name: str, lo: float, hi: float, value: float, step: float, suffix: str) -> QDoubleSpinBox:
    w = QDoubleSpinBox(objectName=name)
    w.setRange(lo, hi)
    w.setValue(value)
    w.setSingleStep(step)
    w.setSuffix(suffix)
    return w
