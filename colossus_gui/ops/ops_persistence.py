"""The operations' persistence: saving work orders (with their audit), alarms, technicians, stock and part
orders to the workspace database as they change, resuming a run from it, and the plain-data state of one
moment that a snapshot bundle carries. A part of OpsManager (the order book and dispatch are in workflow.py).
Database errors never stop the simulation: the operator is told once."""

from __future__ import annotations

import sqlite3

import numpy as np

from ..io.store import StoreError
from ..sim.events import STORE
from .alarms import Alarm
from .technicians import Technician
from .work_orders import FINAL, WorkOrder


class OpsPersistence:
    """Mixed into OpsManager: uses its engine, store, work orders, roster and spares."""

    # ================================================================== the state of a moment (bundles)
    def state_dict(self) -> dict:
        """Everything of the operations at this moment as plain JSON data: the run id, every work order
        with its technician progress, the technicians, stock and part orders, the figures' integrals. A
        snapshot bundle carries it so that reopening shows exactly these orders (alarms are re-evaluated
        from the simulation's state instead)."""
        return {
            "format": "colossus-gui-ops/1", "run_id": self.run_id, "t": self.t,
            "rng": self.rng.bit_generator.state, "next_wo": self._next_wo, "dispatch_mode": self.dispatch_mode,
            "work_orders": [wo.to_row() for wo in self.work_orders.values()],
            "technicians": [x.to_row() | {"on_shift": x.on_shift, "extra": x.extra} for x in self.roster.techs],
            "stock": dict(self.spares.on_hand), "used": dict(self.spares.used),
            "stock_outs": dict(self.spares.stock_outs), "next_order": self.spares._next_order,
            "orders": [o.to_row() for o in self.spares.orders],
            "tray_cause": self._tray_cause.tolist(), "gpu_s_lost": self.gpu_s_lost.tolist(),
            "backlog_max": self.backlog_max, "backlog_samples": [list(x) for x in self.backlog_samples],
            "next_sample_t": self._next_sample_t, "alarm_work_orders_suppressed": self.alarm_work_orders_suppressed,
            "integrals": [self._on_shift_s, self._backlog_s, self._waiting_s, self._elapsed_s],
        }

    def load_state(self, d: dict) -> None:
        """Take back a moment's state (from ``state_dict``). The engine must be at the same moment."""
        self.run_id = str(d["run_id"])
        self.t = float(d["t"])
        self.rng.bit_generator.state = d["rng"]
        self.dispatch_mode = d.get("dispatch_mode", self.dispatch_mode)
        self.work_orders = {}
        self._active = {}
        for row in d["work_orders"]:
            wo = WorkOrder.from_row(row)
            self.work_orders[wo.id] = wo
            if wo.state not in FINAL:
                self._active[wo.id] = wo
        self._next_wo = max(int(d["next_wo"]), max(self.work_orders, default=0) + 1)
        if self.store is not None:  # ids are unique in the workspace: never reuse one another run took
            self._next_wo = max(self._next_wo, self.store.max_work_order_id() + 1)
        self.roster.restore(d["technicians"])
        for row in d["technicians"]:
            tech = self.roster.by_name.get(row["name"])
            if tech is not None:
                tech.on_shift = bool(row.get("on_shift", tech.on_shift))
                tech.extra = dict(row.get("extra") or {})
                if tech.busy_wo is not None and tech.busy_wo not in self._active:
                    tech.busy_wo = None
        sp = self.spares
        sp.restore(d["stock"], d["orders"])
        sp.used.update(d.get("used", {}))
        sp.stock_outs.update(d.get("stock_outs", {}))
        sp._next_order = max(sp._next_order, int(d.get("next_order", 1)))
        self._tray_cause = np.asarray(d["tray_cause"], dtype=np.int8)
        self.gpu_s_lost = np.asarray(d["gpu_s_lost"], dtype=np.float64)
        self.backlog_max = int(d["backlog_max"])
        self.backlog_samples = [tuple(x) for x in d["backlog_samples"]]
        self._next_sample_t = float(d["next_sample_t"])
        self.alarm_work_orders_suppressed = int(d["alarm_work_orders_suppressed"])
        self._on_shift_s, self._backlog_s, self._waiting_s, self._elapsed_s = (float(x) for x in d["integrals"])
        self.event_cursor = self.engine.events.cursor()
        self._parsed.clear()
        for wo in self.work_orders.values():
            self._save(wo)
        for tech in self.roster.techs:
            self._save_tech(tech)
        for part in self.spares.on_hand:
            self._save_stock(part)
        if self.store is not None:
            self._store_call(lambda: self.store.set_meta("run_id", self.run_id))

    # ================================================================== persistence
    def _on_alarm_changed(self, alarm: Alarm, what: str) -> None:
        if self.store is not None:
            self._store_call(self.store.save_alarm, alarm.to_row() | {"run_id": self.run_id})

    def _save(self, wo: WorkOrder, who: str | None = None, from_state: str | None = None, note: str | None = None,
              t_s: float | None = None) -> None:
        if self.store is None:
            return
        self._store_call(self._save_wo_tx, wo, who, from_state, note, t_s)

    def _save_wo_tx(self, wo, who, from_state, note, t_s) -> None:
        with self.store.transaction() as con:
            self.store.save_work_order(wo.to_row() | {"run_id": self.run_id}, who=who, from_state=from_state,
                                       note=note,
                                       t_s=self.t if t_s is None else t_s)
            con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('sim_t', ?)", (repr(self.t),))

    def _save_tech(self, tech: Technician) -> None:
        if self.store is not None:
            self._store_call(self.store.save_technician, tech.to_row())

    def _save_stock(self, part: str) -> None:
        if self.store is not None:
            self._store_call(self.store.save_stock, part, self.spares.on_hand[part])

    def _save_order(self, order) -> None:
        if self.store is not None:
            self._store_call(self.store.save_order, order.to_row())

    def _store_call(self, fn, *args) -> None:
        try:
            fn(*args)
        except (sqlite3.Error, StoreError) as e:
            # The simulation goes on; the operator is told once (figures and an event), not by a traceback.
            if self.store_error is None:
                self.store_error = f"{self.store.path}: could not save ({e})"
                self._emit_raw("store_error", str(self.store.path), str(e), component=STORE)

    def _load_from_store(self) -> None:
        """Resume this run from the workspace: its open work orders, and the technicians and stock when the
        database last held this run's. A new run (a relaunch, a drill) takes nothing from another run."""
        st = self.store
        self._store_call(st.archive_open_alarms)
        rows = []
        self._store_call(lambda: rows.extend(st.open_work_orders(run_id=self.run_id)))
        for row in rows:
            wo = WorkOrder.from_row(row)
            self.work_orders[wo.id] = wo
            self._active[wo.id] = wo
        ids = []
        self._store_call(lambda: ids.append(st.max_work_order_id()))
        self._next_wo = (ids[0] if ids else 0) + 1  # ids stay unique across the runs of a workspace
        same_run: list[bool] = []
        self._store_call(lambda: same_run.append(st.get_meta("run_id") == self.run_id))
        if same_run and same_run[0]:
            techs, stock, orders = [], {}, []
            self._store_call(lambda: (techs.extend(st.technicians()), stock.update(st.stock()),
                                      orders.extend(st.orders())))
            self.roster.restore(techs)
            for tech in self.roster.techs:
                if tech.busy_wo is not None and tech.busy_wo not in self._active:
                    tech.busy_wo = None
            if stock:
                self.spares.restore(stock, orders)
        for part in self.spares.on_hand:
            self._save_stock(part)
        for tech in self.roster.techs:
            self._save_tech(tech)
        self._store_call(lambda: st.set_meta("run_id", self.run_id))
        # put the simulation back the way the open orders hold it
        eng = self.engine
        for wo in self._active.values():
            for tray in wo.held["drained"]:
                self._try(wo, lambda tr=tray: eng.set_tray_service(tr, drained=True), "drain the tray")
            for tray in wo.held["slid_out"]:
                self._try(wo, lambda tr=tray: eng.set_tray_service(tr, slid_out=True), "slide the tray out")
            for rack in wo.held["isolated"]:
                self._try(wo, lambda ra=rack: eng.set_rack_isolated(ra, True), "isolate the rack")
