"""The trainee's plant controls in a training session: GPU power caps and load shedding per hall, the facility
water setpoint, isolating a rack remotely, and a job's checkpoints. Every button is a logged trainee action
of the session (alarms and work orders stay with the ordinary alarm and work-order panels)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
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
        self.cap_button = QPushButton("Cap GPUs", objectName="controlCap")
        self.uncap_button = QPushButton("Remove cap", objectName="controlUncap")
        self.shed = _spin("controlShed", 0.0, 1.0, 0.3, 0.05, "")
        self.shed_button = QPushButton("Shed", objectName="controlShedButton")
        self.setpoint = _spin("controlSetpoint", 10.0, 50.0, float(eng.facility.site.supply_setpoint_c), 0.5, " C")
        self.setpoint_button = QPushButton("Set", objectName="controlSetpointButton")
        self.rack_edit = QLineEdit(objectName="controlRack")
        self.rack_edit.setPlaceholderText("rack, e.g. H2-R014")
        self.isolate_button = QPushButton("Isolate", objectName="controlIsolate")
        self.restore_button = QPushButton("Restore", objectName="controlRestore")
        self.job_box = QComboBox(objectName="controlJob")
        for j in eng.jobs:
            self.job_box.addItem(j.name)
        self.interval = _spin("controlInterval", 30.0, 86400.0, 600.0, 30.0, " s")
        self.interval_button = QPushButton("Set interval", objectName="controlIntervalButton")
        self.ckpt_button = QPushButton("Checkpoint now", objectName="controlCheckpoint")
        self.message = QLabel(objectName="controlMessage")
        self.message.setWordWrap(True)
        # two columns (what it acts on | its value and buttons): the dock sits under the inspector, a column
        # about 250 pixels wide on a 1920-pixel screen; a row of five controls would be cut off there
        g = QGridLayout(self)
        g.setContentsMargins(4, 4, 4, 4)
        g.setVerticalSpacing(3)
        g.setColumnStretch(1, 1)
        self.cap_button.setToolTip("Cap the GPU power of the hall (or all halls) at this value")
        self.setpoint_button.setToolTip("Set the facility's supply-water setpoint")
        self.setpoint.setToolTip("Facility supply-water setpoint")
        self.isolate_button.setToolTip("Take the rack out of its job")
        self.restore_button.setToolTip("Put the rack back into its job")
        self.shed_button.setToolTip("Shed this fraction of the IT load of the hall (or all halls)")
        self.shed.setToolTip("Fraction of the IT load to shed")
        self.interval_button.setToolTip("Set the job's checkpoint interval")
        rows = [("Hall", [self.hall_box]), ("", [self.watts]), ("", [self.cap_button, self.uncap_button]),
                ("Shed", [self.shed, self.shed_button]),
                ("Supply", [self.setpoint, self.setpoint_button]),
                ("Rack", [self.rack_edit]), ("", [self.isolate_button, self.restore_button]),
                ("Job", [self.job_box]), ("", [self.interval, self.interval_button]), ("", [self.ckpt_button])]
        for r, (label, ws) in enumerate(rows):
            col, span = (1, 1) if label else (0, 2)  # an unlabelled row (values, buttons) takes the whole width
            if label:
                g.addWidget(QLabel(label), r, 0)
            if len(ws) == 1:
                g.addWidget(ws[0], r, col, 1, span)
                continue
            line = QHBoxLayout()
            line.setSpacing(3)
            for w in ws:
                line.addWidget(w, 1)
            g.addLayout(line, r, col, 1, span)
        g.addWidget(self.message, len(rows), 0, 1, 2)
        g.setRowStretch(len(rows) + 1, 1)
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
