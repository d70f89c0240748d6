"""Training sessions in the workspace database: one row per session (trainee, scenario, date, score, where its
log and report are), listed per trainee so a trainee's history shows progress.

The table lives in the same SQLite file as the maintenance store (``store.py``) and is added with
``CREATE TABLE IF NOT EXISTS``: the store's own schema and checks are untouched (it only requires its tables
to be there). Every write is one transaction.
"""

from __future__ import annotations

import json
from pathlib import Path

from .store import RowError, Store, _body, _int, _num, _short, _text, quarantine_rows

_SCHEMA = """
CREATE TABLE IF NOT EXISTS training_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, trainee TEXT NOT NULL, scenario TEXT NOT NULL, title TEXT,
    started TEXT NOT NULL, sim_s REAL NOT NULL, score REAL NOT NULL, aborted INTEGER NOT NULL DEFAULT 0,
    ended TEXT, seed INTEGER, log_path TEXT, report_path TEXT, terms TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS training_sessions_trainee ON training_sessions (trainee, started);
"""
_COLS = ("id", "trainee", "scenario", "title", "started", "sim_s", "score", "aborted", "ended", "seed", "log_path",
         "report_path", "terms")


def _check_session(row: dict, topology=None) -> None:
    _int(row["id"], "id")
    for c in ("trainee", "scenario", "started"):
        _text(row[c], c)
    for c in ("title", "ended", "log_path", "report_path"):
        _text(row[c], c, optional=True)
    _num(row["sim_s"], "sim_s", non_negative=True)
    _num(row["score"], "score")
    _int(row["aborted"], "aborted")
    _int(row["seed"], "seed", optional=True)
    terms = json.loads(row["terms"]) if isinstance(row["terms"], str) and row["terms"].startswith("[") else None
    if not isinstance(terms, list) or not all(isinstance(t, dict) for t in terms):
        _body(row["terms"], "terms")  # names the problem (not JSON, or not a list)
        raise RowError("terms is not a list of score terms")


class SessionStore:
    """Training sessions in a workspace database (a :class:`Store`, or a path to open one)."""

    def __init__(self, store: Store | str | Path):
        self._own = not isinstance(store, Store)
        self.store = Store(store) if self._own else store
        with self.store.transaction() as con:
            for stmt in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                con.execute(stmt)
        # damaged rows move to the quarantine table (kept whole), so listing the others never fails
        self.quarantined: list[str] = quarantine_rows(self.store, {"training_sessions": (
            lambda r: f"training session {_short(r['id'])}", _check_session)})

    def close(self) -> None:
        if self._own:
            self.store.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add(self, *, trainee: str, scenario: str, title: str, started: str, sim_s: float, score: float,
            aborted: bool, ended: str | None, seed: int, log_path: str | None, report_path: str | None,
            terms: list[dict]) -> int:
        with self.store.transaction() as con:
            cur = con.execute(
                "INSERT INTO training_sessions (trainee, scenario, title, started, sim_s, score, aborted, ended, "
                "seed, log_path, report_path, terms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (trainee, scenario, title, started, float(sim_s), float(score), int(bool(aborted)), ended, int(seed),
                 log_path, report_path, json.dumps(terms, separators=(",", ":"))))
            return int(cur.lastrowid)

    def add_debrief(self, d: dict, log_path: str | Path | None = None, report_path: str | Path | None = None) -> int:
        """Store a finished session from its debrief (``TrainingSession.debrief()``)."""
        return self.add(trainee=d["trainee"], scenario=d["scenario_name"], title=d["title"], started=d["started"],
                        sim_s=d["duration_s"], score=d["score"]["total"], aborted=d["aborted"],
                        ended=d["end_reason"], seed=d["seed"], log_path=str(log_path) if log_path else None,
                        report_path=str(report_path) if report_path else None,
                        terms=[{k: t[k] for k in ("key", "value", "points_lost", "max_points")}
                               for t in d["score"]["terms"]])

    def _rows(self, sql: str, args: tuple = ()) -> list[dict]:
        out = []
        for r in self.store.con.execute(sql, args):
            d = dict(zip(_COLS, r, strict=True))
            d["aborted"] = bool(d["aborted"])
            d["terms"] = json.loads(d["terms"])
            out.append(d)
        return out

    def sessions(self, trainee: str | None = None, scenario: str | None = None) -> list[dict]:
        """Sessions, newest first, optionally of one trainee and/or scenario."""
        sql, args = f"SELECT {', '.join(_COLS)} FROM training_sessions", []
        where = []
        if trainee is not None:
            where.append("trainee = ?")
            args.append(trainee)
        if scenario is not None:
            where.append("scenario = ?")
            args.append(scenario)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._rows(sql + " ORDER BY started DESC, id DESC", tuple(args))

    def session(self, session_id: int) -> dict | None:
        rows = self._rows(f"SELECT {', '.join(_COLS)} FROM training_sessions WHERE id = ?", (int(session_id),))
        return rows[0] if rows else None

    def trainees(self) -> list[str]:
        return [r[0] for r in self.store.con.execute("SELECT DISTINCT trainee FROM training_sessions ORDER BY trainee")]

    def history(self, trainee: str) -> dict[str, list[dict]]:
        """A trainee's sessions per scenario, oldest first, each with its score and the change since the last
        attempt at the same scenario (progress)."""
        out: dict[str, list[dict]] = {}
        for row in reversed(self.sessions(trainee)):
            runs = out.setdefault(row["scenario"], [])
            row["change"] = row["score"] - runs[-1]["score"] if runs else None
            runs.append(row)
        return out
