"""Start a drill the way a trainer does: pick it from a list that shows what it is about (description,
duration, difficulty, the trainee's briefing), pick the trainee (with their past sessions), start.

Difficulty is not written in the drill files; it is judged from the drill itself (:func:`drill_difficulty`):
how many faults, whether they chain or wait for a condition, and how long the trainee has.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

DIFFICULTIES = ("introductory", "intermediate", "advanced")


@dataclass
class DrillInfo:
    name: str  # file stem, what the session log and the database call it
    path: Path
    title: str
    description: str  # the first line of the briefing
    briefing: str
    duration_s: float
    faults: int
    difficulty: str
    problem: str = ""  # a drill file that does not load: why (shown, and it cannot be started)


def drill_difficulty(sc) -> str:
    """'introductory' / 'intermediate' / 'advanced' from the drill's own shape: each fault counts 1, a chained
    (after) or conditional (when) or random fault 1 more, a limit under 40 minutes 1 more, each objective 0.5."""
    points = 0.0
    for f in sc.faults:
        points += 1.0 + (1.0 if (f.after is not None or f.when is not None or f.random is not None) else 0.0)
    points += 0.5 * len(sc.objectives)
    if sc.time_limit_s < 2400:
        points += 1.0
    return DIFFICULTIES[0] if points < 4 else DIFFICULTIES[1] if points < 7 else DIFFICULTIES[2]


def drill_infos(scenarios: dict[str, Path]) -> list[DrillInfo]:
    from ...io.loader import LoadError
    from ...ops.training_check import load_training_scenario

    out = []
    for name, path in scenarios.items():
        try:
            sc, _ = load_training_scenario(path)
        except LoadError as e:
            out.append(DrillInfo(name, path, name, "", "", 0.0, 0, "", problem="; ".join(e.problems[:3])))
            continue
        brief = (sc.briefing or "").strip()
        out.append(DrillInfo(name, Path(path), sc.title, _description(Path(path), _summary(sc)), brief,
                             float(sc.time_limit_s), len(sc.faults), drill_difficulty(sc)))
    return out


def _summary(sc) -> str:
    """What the drill exercises, for the trainer: its facility, the kinds of fault, objectives, hints."""
    kinds = sorted({f.kind.replace("_", " ") for f in sc.faults})
    parts = [f"on {sc.facility or 'the open facility'}", "faults: " + (", ".join(kinds) or "none")]
    parts.append(f"{len(sc.objectives)} objective(s), {len(sc.hints)} hint(s), a reference solution of "
                 f"{len(sc.reference)} action(s)")
    return "; ".join(parts)


def _description(path: Path, title: str) -> str:
    """The drill file's opening comment (what the author says the drill is about), else ``title``."""
    try:
        first = path.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError, UnicodeDecodeError):
        return title
    if not first.startswith("#"):
        return title
    text = first.lstrip("# ").split(" Validate:")[0].strip()
    return text or title


class DrillLauncherDialog(QDialog):
    """``exec()`` it; on Accepted ``chosen()`` gives (drill path, trainee). ``history_fn(trainee)`` returns the
    trainee's past sessions (dicts with scenario, title, score, started), newest first."""

    def __init__(self, scenarios: dict[str, Path], trainees: list[str] | None = None, history_fn=None,
                 last_trainee: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("drillLauncherDialog")
        self.setWindowTitle("Start a training drill")
        self.history_fn = history_fn
        self.drills = drill_infos(scenarios)

        self.list = QListWidget(objectName="drillList")
        self.list.setWordWrap(True)
        self.list.setSpacing(3)
        self.list.setMinimumWidth(300)
        for d in self.drills:
            mins = f"{d.duration_s / 60:.0f} min" if d.duration_s else "?"
            it = QListWidgetItem(f"{d.title}\n{d.difficulty or 'cannot load'} · {mins} · {d.faults} fault(s)")
            it.setData(Qt.ItemDataRole.UserRole, d.name)
            it.setToolTip(d.description or d.problem)
            if d.problem:
                it.setFlags(it.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.list.addItem(it)
        self.list.currentRowChanged.connect(self._on_list_current_row_changed)

        self.title = QLabel(objectName="drillTitle")
        f = self.title.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.2)
        self.title.setFont(f)
        self.title.setWordWrap(True)
        self.facts = QLabel(objectName="drillFacts")
        self.facts.setWordWrap(True)
        self.briefing = QTextBrowser(objectName="drillBriefing")
        self.briefing.setOpenLinks(False)

        self.trainee_box = QComboBox(objectName="traineeBox")
        self.trainee_box.setEditable(True)
        self.trainee_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.trainee_box.addItems(sorted(set(trainees or [])))
        self.trainee_box.setCurrentText(last_trainee or (trainees[0] if trainees else "trainee"))
        self.trainee_box.setToolTip("Type a new name or pick a trainee who trained before")
        self.trainee_box.currentTextChanged.connect(self._on_trainee_changed)
        self.history = QLabel(objectName="traineeHistory")
        self.history.setWordWrap(True)
        self.history.setTextFormat(Qt.TextFormat.RichText)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(6, 0, 0, 0)
        self.description = QLabel(objectName="drillDescription")
        self.description.setWordWrap(True)
        rl.addWidget(self.title)
        rl.addWidget(self.description)
        rl.addWidget(self.facts)
        rl.addWidget(QLabel("<b>Briefing</b> (the trainee reads it on the Score dock)"))
        rl.addWidget(self.briefing, 1)
        form = QFormLayout()
        form.addRow("Trainee:", self.trainee_box)
        rl.addLayout(form)
        rl.addWidget(self.history)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.list)
        split.addWidget(right)
        split.setStretchFactor(1, 2)
        split.setSizes([340, 560])

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton("Start drill", QDialogButtonBox.ButtonRole.AcceptRole)
        self.start_button.setObjectName("drillStartButton")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(split, 1)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.buttons)
        lay.addLayout(bottom)
        self.resize(900, 560)
        first = next((i for i, d in enumerate(self.drills) if not d.problem), -1)
        self.list.setCurrentRow(first)
        self._on_trainee_changed(self.trainee_box.currentText())

    # ------------------------------------------------------------------ API
    def current_drill(self) -> DrillInfo | None:
        i = self.list.currentRow()
        return self.drills[i] if 0 <= i < len(self.drills) else None

    def select(self, name: str) -> None:
        for i, d in enumerate(self.drills):
            if d.name == name:
                self.list.setCurrentRow(i)
                return
        raise ValueError(f"no drill {name!r}")

    def trainee(self) -> str:
        return self.trainee_box.currentText().strip()

    def chosen(self) -> tuple[Path, str] | None:
        d = self.current_drill()
        if d is None or d.problem or not self.trainee():
            return None
        return d.path, self.trainee()

    # ------------------------------------------------------------------ slots
    def _on_list_current_row_changed(self, _row: int) -> None:
        d = self.current_drill()
        self.description.setText(d.description if d is not None and d.description != d.title else "")
        self.description.setVisible(bool(self.description.text()))
        if d is None:
            self.title.setText("No drill")
            self.facts.setText("")
            self.briefing.setPlainText("")
        elif d.problem:
            self.title.setText(d.name)
            self.facts.setText(f"This drill file cannot be loaded: {d.problem}")
            self.briefing.setPlainText("")
        else:
            self.title.setText(d.title)
            self.facts.setText(f"Duration {d.duration_s / 60:.0f} min (simulated) · difficulty {d.difficulty} · "
                               f"{d.faults} fault(s) · file {d.name}")
            self.briefing.setHtml("<p>" + "<br>".join(html.escape(ln) for ln in d.briefing.splitlines()) + "</p>")
        self._update_start()
        self._on_trainee_changed(self.trainee())

    def _on_trainee_changed(self, name: str) -> None:
        self._update_start()
        name = name.strip()
        if not name:
            self.history.setText("<i>Enter the trainee's name.</i>")
            return
        rows = self.history_fn(name) if self.history_fn is not None else []
        if not rows:
            self.history.setText(f"<i>{html.escape(name)}: no earlier sessions.</i>")
            return
        d = self.current_drill()
        same = [r for r in rows if d is not None and r.get("scenario") == d.name]
        lines = [f"{html.escape(str(r.get('started', ''))[:16])} — {html.escape(str(r.get('title') or r.get('scenario')))}"
                 f": <b>{float(r.get('score', 0.0)):.0f}</b>/100" for r in rows[:5]]
        head = f"<b>{html.escape(name)}</b>: {len(rows)} earlier session(s)"
        if same:
            head += f", {len(same)} of this drill (best {max(float(r.get('score', 0)) for r in same):.0f})"
        self.history.setText(head + "<br>" + "<br>".join(lines))

    def _update_start(self) -> None:
        self.start_button.setEnabled(self.chosen() is not None)
