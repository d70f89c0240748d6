"""The work-order board's undo commands (create, priority, note, cancel): each undoes only while the order's
work has not reached the simulation."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from ...ops.work_orders import CANCELLED, OPEN, STATE_LABELS, WorkOrder
from .work_order_model import reached_simulation


class _WorkOrderCommand(QUndoCommand):
    """An edit of one work order. It was carried out before being pushed (so errors were caught and shown
    there); the stack's first ``redo()`` does nothing. ``blocked_undo``/``blocked_redo`` say why it can no
    longer be undone/redone (the order reached the simulation), or None."""

    def __init__(self, board, wo_id: int, text: str):  # board: the WorkOrderPanelWidget
        super().__init__(text)
        self.board, self.wo_id = board, wo_id
        self._pushed = False

    @property
    def ops(self):
        return self.board.ops

    def _live(self) -> WorkOrder | None:
        return self.ops.work_orders.get(self.wo_id)

    def _reached(self) -> str | None:
        wo = self._live()
        if wo is None:
            return f"work order {self.wo_id} is no longer on the board"
        return reached_simulation(self.ops, wo)

    def blocked_undo(self) -> str | None:
        return self._reached()

    def blocked_redo(self) -> str | None:
        return self._reached()

    def redo(self) -> None:
        if not self._pushed:
            self._pushed = True
            return
        self._run("redo", self.blocked_redo, self._redo)

    def undo(self) -> None:
        self._run("undo", self.blocked_undo, self._undo)

    def _run(self, what: str, blocked, fn) -> None:
        # The stack is mid-call: no pruning (it would delete this very command) until indexChanged.
        self.board._in_command = True
        try:
            reason = blocked()
            try:
                if reason is None:
                    fn()
            except ValueError as e:  # OpsError, WorkOrderError: the order moved on meanwhile
                reason = str(e)
            if reason is not None:
                # Qt drops an obsolete command from the stack right after this call
                self.setObsolete(True)
                self.board.show_message(f"Cannot {what} “{self.text()}”: {reason}")
            self.board.undo_applied(self.wo_id)
        finally:
            self.board._in_command = False

    def _undo(self) -> None:
        raise NotImplementedError

    def _redo(self) -> None:
        raise NotImplementedError


class _CreateCommand(_WorkOrderCommand):
    def __init__(self, board, wo: WorkOrder):
        super().__init__(board, wo.id, f"create work order {wo.id} ({wo.target})")

    def blocked_undo(self) -> str | None:
        wo = self._live()
        if wo is not None and (wo.state != OPEN or wo.technician is not None):
            return f"work order {wo.id} has been dispatched ({STATE_LABELS[wo.state]}, {wo.technician or '-'})"
        return self._reached()

    def blocked_redo(self) -> str | None:
        return None if self.wo_id in self.ops.withdrawn else f"work order {self.wo_id} is not withdrawn"

    def _undo(self) -> None:
        self.ops.withdraw(self.wo_id, who=self.board.who)

    def _redo(self) -> None:
        self.ops.reopen(self.wo_id, who=self.board.who)


class _PriorityCommand(_WorkOrderCommand):
    def __init__(self, board, wo_id: int, old: int, new: int):
        super().__init__(board, wo_id, f"priority {old} -> {new} of work order {wo_id}")
        self.old, self.new = old, new

    def _undo(self) -> None:
        self.ops.set_priority(self.wo_id, self.old, who=self.board.who)

    def _redo(self) -> None:
        self.ops.set_priority(self.wo_id, self.new, who=self.board.who)


class _NoteCommand(_WorkOrderCommand):
    def __init__(self, board, wo_id: int, note: str, text: str):
        short = text if len(text) <= 30 else text[:29] + "…"
        super().__init__(board, wo_id, f"note “{short}” on work order {wo_id}")
        self.note, self.note_text = note, text

    def _undo(self) -> None:
        self.ops.remove_note(self.wo_id, self.note, who=self.board.who)

    def _redo(self) -> None:
        wo = self.ops.add_note(self.wo_id, self.note_text, who=self.board.who)
        self.note = wo.notes[-1]


class _CancelCommand(_WorkOrderCommand):
    def __init__(self, board, wo_id: int, technician: str | None):
        super().__init__(board, wo_id, f"cancel work order {wo_id}")
        self.technician = technician

    def blocked_undo(self) -> str | None:
        wo = self._live()
        if wo is not None and wo.state != CANCELLED:
            return f"work order {wo.id} is {STATE_LABELS[wo.state]}"
        return self._reached()

    def _undo(self) -> None:
        wo = self.ops.reopen(self.wo_id, who=self.board.who)
        if self.technician:  # it was dispatched, the walk not begun: send the same technician again
            try:
                self.ops.assign(wo.id, self.technician, who=self.board.who)
            except ValueError as e:
                self.board.show_message(f"Work order {wo.id} reopened, but not assigned again: {e}")

    def _redo(self) -> None:
        self.ops.cancel(self.wo_id, who=self.board.who, reason="cancelled from the board")


# ============================================================================================ the board
