"""The workspace database: SQLite (standard library) holding alarm history, work orders with an audit log of
every state change (who and when), technicians and spare-part stock.

- Every change is one transaction; WAL journal with ``synchronous=NORMAL``: a process killed at any moment
  loses nothing it committed (a power cut may lose the last few transactions, never corrupts the file).
- The file is ours only if its header says so (``application_id`` = 'COLS') and its ``user_version`` is a
  schema we know. A corrupt or foreign file raises :class:`StoreError` with a clear message and is left
  untouched: it is checked byte-wise and then through a read-only connection before anything writes.
- Rows are plain dicts (lists and dicts inside are stored as JSON text): this module knows SQL, not ops.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

APPLICATION_ID = 0x434F4C53  # 'COLS'
SCHEMA_VERSION = 2  # 2: alarms and work orders carry the run id
SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE alarms (
    id INTEGER PRIMARY KEY, rule TEXT NOT NULL, component TEXT NOT NULL, severity INTEGER NOT NULL,
    state TEXT NOT NULL, raised_t REAL NOT NULL, acked_t REAL, acked_by TEXT, cleared_t REAL,
    value REAL, limit_value REAL, unit TEXT, detail TEXT, shelved_until REAL, archived INTEGER NOT NULL DEFAULT 0,
    peak_severity INTEGER, run_id TEXT);
CREATE INDEX alarms_archived ON alarms (archived, raised_t);
CREATE INDEX alarms_component ON alarms (component, rule);
CREATE TABLE work_orders (
    id INTEGER PRIMARY KEY, target TEXT NOT NULL, fault TEXT NOT NULL, recipe TEXT NOT NULL,
    priority INTEGER NOT NULL, state TEXT NOT NULL, source TEXT, created_by TEXT, created_t REAL NOT NULL,
    assigned_t REAL, started_t REAL, finished_t REAL, technician TEXT, run_id TEXT, body TEXT NOT NULL);
CREATE INDEX work_orders_run ON work_orders (run_id, state);
CREATE INDEX work_orders_state ON work_orders (state, priority, created_t);
CREATE INDEX work_orders_target ON work_orders (target);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, wo_id INTEGER NOT NULL, t_s REAL NOT NULL, wall_time TEXT NOT NULL,
    who TEXT NOT NULL, from_state TEXT, to_state TEXT, note TEXT);
CREATE INDEX audit_wo ON audit (wo_id, id);
CREATE TABLE technicians (name TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE stock (part TEXT PRIMARY KEY, on_hand INTEGER NOT NULL);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY, part TEXT NOT NULL, qty INTEGER NOT NULL, ordered_t REAL NOT NULL,
    arrive_t REAL NOT NULL, delivered INTEGER NOT NULL DEFAULT 0);
"""
_TABLES = {"meta", "alarms", "work_orders", "audit", "technicians", "stock", "orders"}
_WO_COLUMNS = ("id", "target", "fault", "recipe", "priority", "state", "source", "created_by", "created_t",
               "assigned_t", "started_t", "finished_t", "technician", "run_id")
_ALARM_COLUMNS = ("id", "rule", "component", "severity", "state", "raised_t", "acked_t", "acked_by", "cleared_t",
                  "value", "limit_value", "unit", "detail", "shelved_until", "archived", "peak_severity", "run_id")
_MIGRATE_1_TO_2 = ("ALTER TABLE alarms ADD COLUMN run_id TEXT", "ALTER TABLE work_orders ADD COLUMN run_id TEXT",
                   "CREATE INDEX work_orders_run ON work_orders (run_id, state)")
FINAL_STATES = ("closed", "cancelled")


class StoreError(Exception):
    """The database cannot be used (foreign, corrupt, newer, unreadable). The message names the file."""


def _wall() -> str:
    # The audit log records when a person did something; the simulation itself never reads this.
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def check_file(path: str | Path) -> None:
    """Raise StoreError unless ``path`` is missing, empty, or a Colossus GUI database we can read.
    Never writes to the file."""
    p = Path(path)
    name = str(p)
    if not p.exists():
        return
    if p.is_dir():
        raise StoreError(f"{name}: is a folder, not a database file")
    if not p.is_file():  # a FIFO or a device would block or stream for ever
        raise StoreError(f"{name}: not a regular file (a device, pipe or socket); not a database")
    try:
        with open(p, "rb") as fh:
            head = fh.read(100)
    except OSError as e:
        raise StoreError(f"{name}: cannot read ({e.strerror})") from None
    if not head:
        return  # created and never written (killed at birth): ours to initialise
    if not head.startswith(SQLITE_MAGIC):
        raise StoreError(f"{name}: not a Colossus GUI database (not an SQLite file; corrupt or foreign). "
                         "The file was left untouched; move it away or choose another workspace.")
    if len(head) < 100:
        raise StoreError(f"{name}: the database header is truncated (corrupt). The file was left untouched.")
    app_id = int.from_bytes(head[68:72], "big")
    if app_id != APPLICATION_ID:
        raise StoreError(f"{name}: an SQLite database of another application (application_id 0x{app_id:08X}), "
                         "not a Colossus GUI workspace. The file was left untouched.")
    try:
        con = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise StoreError(f"{name}: cannot open the database read-only ({e}). The file was left untouched.") from None
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{name}: written by a newer Colossus GUI (schema {version}, this version reads up to "
                             f"{SCHEMA_VERSION}). The file was left untouched.")
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = _TABLES - tables
        if missing:
            raise StoreError(f"{name}: not a complete Colossus GUI database (missing tables: "
                             f"{', '.join(sorted(missing))}). The file was left untouched.")
        bad = con.execute("PRAGMA quick_check(5)").fetchall()
        if bad and bad[0][0] != "ok":
            detail = " ".join("; ".join(str(r[0]) for r in bad).split())  # quick_check's lines, as one line
            raise StoreError(f"{name}: the database is damaged ({detail[:300]}). The file was left untouched.")
    except sqlite3.DatabaseError as e:
        raise StoreError(f"{name}: the database is damaged or not a database ({e}). "
                         "The file was left untouched.") from None
    finally:
        con.close()


class Store:
    """One workspace database. ``Store(path)`` creates it if missing; raises StoreError otherwise if it is
    not ours. Use as a context manager or call ``close()``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        check_file(self.path)  # raises before anything touches a foreign or damaged file
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self.con.execute("PRAGMA busy_timeout = 5000")
            version = self.con.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                self._create()
            elif version < SCHEMA_VERSION:
                self._migrate(version)
            self.con.execute("PRAGMA journal_mode = WAL")
            self.con.execute("PRAGMA synchronous = NORMAL")
            self.con.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot open the database ({e})") from None
        self._depth = 0

    def _create(self) -> None:
        # One transaction in rollback-journal mode: the header (application_id, user_version) and the schema
        # reach the main file together, so a half-created file cannot exist.
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            for stmt in filter(None, (s.strip() for s in _SCHEMA.split(";"))):
                con.execute(stmt)
            con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            con.execute("INSERT INTO meta (key, value) VALUES ('created', ?)", (_wall(),))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _migrate(self, version: int) -> None:
        """Bring an older workspace up to this schema in one transaction (rows of schema 1 have no run id:
        they belong to no run and are history only)."""
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            if version < 2:
                for stmt in _MIGRATE_1_TO_2:
                    con.execute(stmt)
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        if getattr(self, "con", None) is not None:
            self.con.close()
            self.con = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction (nested calls join the outer one)."""
        con = self.con
        if con is None:
            raise StoreError(f"{self.path}: the database is closed")
        if self._depth:
            self._depth += 1
            try:
                yield con
            finally:
                self._depth -= 1
            return
        con.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield con
        except BaseException:
            self._depth = 0
            con.execute("ROLLBACK")
            raise
        self._depth = 0
        con.execute("COMMIT")

    # ------------------------------------------------------------------ meta
    def set_meta(self, key: str, value) -> None:
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def get_meta(self, key: str, default=None):
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        if row is None:
            return default
        try:
            return json.loads(row[0])
        except ValueError:
            return row[0]

    # ------------------------------------------------------------------ alarms
    def save_alarm(self, row: dict) -> None:
        vals = [row.get(c) for c in _ALARM_COLUMNS]
        vals[_ALARM_COLUMNS.index("archived")] = int(bool(row.get("archived")))
        with self.transaction() as con:
            con.execute(f"INSERT OR REPLACE INTO alarms ({', '.join(_ALARM_COLUMNS)}) "
                        f"VALUES ({', '.join('?' * len(_ALARM_COLUMNS))})", vals)

    def alarms(self, include_archived: bool = True, limit: int | None = None, run_id: str | None = None,
               until_t: float | None = None) -> list[dict]:
        """Alarm rows, newest first; ``run_id``: only that run's; ``until_t``: only those raised by then."""
        sql = f"SELECT {', '.join(_ALARM_COLUMNS)} FROM alarms"
        where, args = _where(run_id, until_t, "raised_t")
        if not include_archived:
            where.append("archived = 0")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [dict(zip(_ALARM_COLUMNS, r, strict=True)) | {"archived": bool(r[14])}
                for r in self.con.execute(sql, args)]

    def archive_open_alarms(self) -> int:
        """A new session re-evaluates every alarm from the simulation: the previous session's unarchived alarms
        are closed in the history (state kept as it was last seen). Returns how many."""
        with self.transaction() as con:
            return con.execute("UPDATE alarms SET archived = 1 WHERE archived = 0").rowcount

    def max_alarm_id(self) -> int:
        return self.con.execute("SELECT COALESCE(MAX(id), 0) FROM alarms").fetchone()[0]

    # ------------------------------------------------------------------ work orders
    def save_work_order(self, row: dict, who: str | None = None, from_state: str | None = None,
                        note: str | None = None, t_s: float | None = None) -> None:
        """Insert or update a work order; with ``who``, also append an audit entry (same transaction)."""
        cols = [row.get(c) for c in _WO_COLUMNS]
        body = json.dumps({k: v for k, v in row.items() if k not in _WO_COLUMNS}, separators=(",", ":"))
        with self.transaction() as con:
            con.execute(f"INSERT OR REPLACE INTO work_orders ({', '.join(_WO_COLUMNS)}, body) "
                        f"VALUES ({', '.join('?' * (len(_WO_COLUMNS) + 1))})", [*cols, body])
            if who is not None:
                con.execute("INSERT INTO audit (wo_id, t_s, wall_time, who, from_state, to_state, note) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (row["id"], t_s if t_s is not None else row.get("created_t", 0.0), _wall(), who,
                             from_state, row.get("state"), note))

    @staticmethod
    def _wo_row(r) -> dict:
        d = dict(zip(_WO_COLUMNS, r[:-1], strict=True))
        d.update(json.loads(r[-1]))
        return d

    def work_orders(self, states: tuple[str, ...] | None = None, limit: int | None = None,
                    offset: int = 0, run_id: str | None = None, until_t: float | None = None) -> list[dict]:
        """Work orders in full; ``run_id``: only that run's; ``until_t``: only those created by then."""
        sql = f"SELECT {', '.join(_WO_COLUMNS)}, body FROM work_orders"
        where, args = _where(run_id, until_t, "created_t")
        if states:
            where.append(f"state IN ({', '.join('?' * len(states))})")
            args += list(states)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [int(limit), int(offset)]
        return [self._wo_row(r) for r in self.con.execute(sql, args)]

    def work_order_summaries(self, states: tuple[str, ...] | None = None, run_id: str | None = None,
                             until_t: float | None = None) -> list[dict]:
        """The board's columns only (no steps, notes): cheap for 10,000s of rows."""
        sql = f"SELECT {', '.join(_WO_COLUMNS)} FROM work_orders"
        where, args = _where(run_id, until_t, "created_t")
        if states:
            where.append(f"state IN ({', '.join('?' * len(states))})")
            args += list(states)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [dict(zip(_WO_COLUMNS, r, strict=True)) for r in self.con.execute(sql + " ORDER BY id", args)]

    def open_work_orders(self, run_id: str | None = None) -> list[dict]:
        """Every work order not closed or cancelled, in full (what a resumed run takes back): of one run
        when ``run_id`` is given."""
        return self.work_orders(states=("open", "assigned", "in_progress", "testing"), run_id=run_id)

    def work_order(self, wo_id: int) -> dict | None:
        r = self.con.execute(f"SELECT {', '.join(_WO_COLUMNS)}, body FROM work_orders WHERE id = ?",
                             (int(wo_id),)).fetchone()
        return self._wo_row(r) if r else None

    def count_by_state(self) -> dict[str, int]:
        return dict(self.con.execute("SELECT state, COUNT(*) FROM work_orders GROUP BY state").fetchall())

    def max_work_order_id(self) -> int:
        return self.con.execute("SELECT COALESCE(MAX(id), 0) FROM work_orders").fetchone()[0]

    def audit(self, wo_id: int | None = None) -> list[dict]:
        cols = ("id", "wo_id", "t_s", "wall_time", "who", "from_state", "to_state", "note")
        sql = f"SELECT {', '.join(cols)} FROM audit"
        args: tuple = ()
        if wo_id is not None:
            sql += " WHERE wo_id = ?"
            args = (int(wo_id),)
        return [dict(zip(cols, r, strict=True)) for r in self.con.execute(sql + " ORDER BY id", args)]

    # ------------------------------------------------------------------ technicians and stock
    def save_technician(self, row: dict) -> None:
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO technicians (name, body) VALUES (?, ?)",
                        (row["name"], json.dumps(row, separators=(",", ":"))))

    def technicians(self) -> list[dict]:
        return [json.loads(r[0]) for r in self.con.execute("SELECT body FROM technicians ORDER BY name")]

    def save_stock(self, part: str, on_hand: int) -> None:
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO stock (part, on_hand) VALUES (?, ?)", (part, int(on_hand)))

    def stock(self) -> dict[str, int]:
        return dict(self.con.execute("SELECT part, on_hand FROM stock").fetchall())

    def save_order(self, row: dict) -> None:
        with self.transaction() as con:
            con.execute("INSERT OR REPLACE INTO orders (id, part, qty, ordered_t, arrive_t, delivered) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (row["id"], row["part"], row["qty"], row["ordered_t"],
                                                      row["arrive_t"], int(bool(row["delivered"]))))

    def quarantine_bad_rows(self, topology=None, checks: dict | None = None) -> list[str]:
        """Move rows that cannot be used (a body that is not JSON, a number stored as text, a target that is not
        an address of ``topology``, ...) into the ``quarantine`` table, so the rest loads; returns one line per
        row moved. Nothing is deleted: the quarantined row is kept whole with its reason."""
        return quarantine_rows(self, _CHECKS, topology, checks)

    def quarantined(self) -> list[dict]:
        try:
            return [{"id": r[0], "source": r[1], "row": r[2], "reason": r[3], "wall_time": r[4]}
                    for r in self.con.execute("SELECT id, source, row, reason, wall_time FROM quarantine ORDER BY id")]
        except sqlite3.OperationalError:
            return []  # no quarantine table: nothing was ever quarantined

    def orders(self) -> list[dict]:
        cols = ("id", "part", "qty", "ordered_t", "arrive_t", "delivered")
        return [dict(zip(cols, r, strict=True)) | {"delivered": bool(r[5])}
                for r in self.con.execute(f"SELECT {', '.join(cols)} FROM orders ORDER BY id")]


# ------------------------------------------------------------------ damaged rows
_QUARANTINE_SCHEMA = """CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, row TEXT NOT NULL, reason TEXT NOT NULL,
    wall_time TEXT NOT NULL)"""
_WO_STATES = ("open", "assigned", "in_progress", "testing", "closed", "cancelled")
MAX_BODY_CHARS = 4 * 1024 * 1024


class RowError(ValueError):
    pass


def _num(v, what: str, optional: bool = False, non_negative: bool = False) -> None:
    if v is None and optional:
        return
    if isinstance(v, bool) or not isinstance(v, int | float) or abs(v) > 1e15 or not math.isfinite(v):
        raise RowError(f"{what} {_short(v)} is not a finite number")
    if non_negative and v < 0:
        raise RowError(f"{what} {_short(v)} is negative")


def _int(v, what: str, optional: bool = False, non_negative: bool = True) -> None:
    if v is None and optional:
        return
    if isinstance(v, bool) or not isinstance(v, int) or (non_negative and v < 0) or abs(v) > 2**62:
        raise RowError(f"{what} {_short(v)} is not a whole number" + (" >= 0" if non_negative else ""))


def _text(v, what: str, optional: bool = False) -> None:
    if v is None and optional:
        return
    if not isinstance(v, str) or len(v) > 100_000:
        raise RowError(f"{what} {_short(v)} is not text")


def _short(v) -> str:
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."


def _body(text, what: str = "body"):
    if not isinstance(text, str) or len(text) > MAX_BODY_CHARS:
        raise RowError(f"{what} is not JSON text")
    try:
        d = json.loads(text)
    except (ValueError, RecursionError):
        raise RowError(f"{what} is not JSON") from None
    if not isinstance(d, dict):
        raise RowError(f"{what} is a JSON {type(d).__name__}, not an object")
    return d


def _check_wo(row: dict, topology) -> dict:
    _int(row["id"], "id")
    for c in ("target", "fault", "recipe", "state"):
        _text(row[c], c)
    if row["state"] not in _WO_STATES:
        raise RowError(f"state {_short(row['state'])} is not a work-order state")
    _int(row["priority"], "priority")
    _num(row["created_t"], "created_t", non_negative=True)
    for c in ("assigned_t", "started_t", "finished_t"):
        _num(row[c], c, optional=True, non_negative=True)
    for c in ("source", "created_by", "technician"):
        _text(row[c], c, optional=True)
    body = _body(row["body"])
    if not isinstance(body.get("steps", []), list) or not all(isinstance(x, dict) for x in body.get("steps", [])):
        raise RowError("body: steps is not a list of steps")
    held = body.get("held", {})
    if not isinstance(held, dict) or not all(isinstance(v, list) and all(isinstance(x, str) for x in v)
                                             for v in held.values()):
        raise RowError("body: held is not lists of addresses")
    if topology is not None:
        try:
            topology.parse(row["target"])
        except Exception:  # AddressError and anything an odd string raises
            raise RowError(f"target {_short(row['target'])} is not an address of this facility") from None
    return body


def _check_tech(row: dict, topology) -> dict:
    _text(row["name"], "name")
    body = _body(row["body"])
    if body.get("name") != row["name"]:
        raise RowError("body: name does not match")
    loc = body.get("location")
    if not (loc is None or isinstance(loc, str) or (isinstance(loc, list) and len(loc) <= 8 and all(
            isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 10**7 for x in loc))):
        raise RowError(f"body: location {_short(loc)} is not a place")
    _int(body.get("busy_wo"), "busy_wo", optional=True)
    _int(body.get("jobs_done", 0), "jobs_done")
    _num(body.get("busy_s", 0.0), "busy_s", non_negative=True)
    return body


def _check_stock(row: dict, topology) -> None:
    _text(row["part"], "part")
    _int(row["on_hand"], "on_hand")


def _check_order(row: dict, topology) -> None:
    _int(row["id"], "id")
    _text(row["part"], "part")
    _int(row["qty"], "qty")
    _num(row["ordered_t"], "ordered_t", non_negative=True)
    _num(row["arrive_t"], "arrive_t", non_negative=True)
    _int(row["delivered"], "delivered")


def _check_alarm(row: dict, topology) -> None:
    _int(row["id"], "id")
    for c in ("rule", "component", "state"):
        _text(row[c], c)
    _int(row["severity"], "severity")
    _num(row["raised_t"], "raised_t")
    for c in ("acked_t", "cleared_t", "value", "limit_value", "shelved_until"):
        _num(row[c], c, optional=True)
    for c in ("acked_by", "unit", "detail"):
        _text(row[c], c, optional=True)


_CHECKS = {  # table -> (how a row is named, check)
    "work_orders": (lambda r: f"work order {_short(r['id'])}", _check_wo),
    "technicians": (lambda r: f"technician {_short(r['name'])}", _check_tech),
    "stock": (lambda r: f"stock of {_short(r['part'])}", _check_stock),
    "orders": (lambda r: f"parts order {_short(r['id'])}", _check_order),
    "alarms": (lambda r: f"alarm {_short(r['id'])}", _check_alarm),
}


def _blob_safe(v):
    return v.hex() if isinstance(v, bytes) else v


def quarantine_rows(store: Store, tables: dict, topology=None, checks: dict | None = None) -> list[str]:
    """Move every row that fails its check out of its table into ``quarantine`` (kept whole, as JSON, with the
    reason), in one transaction; returns one line per row naming it and what is wrong. ``tables`` maps a table
    to (namer, check(row, topology)); ``checks`` adds a caller's own check per table (e.g. that a work order
    rebuilds), which may raise anything: the row is then quarantined with that message."""
    bad: list[tuple[str, int, dict, str]] = []
    con = store.con
    for table, (namer, check) in tables.items():
        cur = con.execute(f"SELECT rowid, * FROM {table}")
        cols = [d[0] for d in cur.description][1:]
        for r in cur:
            row = dict(zip(cols, r[1:], strict=True))
            try:
                body = check(row, topology)
                extra = (checks or {}).get(table)
                if extra is not None:
                    full = dict(row)
                    if isinstance(body, dict):
                        full.pop("body", None)
                        full.update(body)
                    extra(full)
            except Exception as e:  # noqa: BLE001 -- any failure of a row's check quarantines that row
                try:
                    name = namer(row)
                except Exception:  # noqa: BLE001
                    name = f"{table} row {r[0]}"
                bad.append((table, r[0], row, f"{name}: {e}"))
    if not bad:
        return []
    with store.transaction() as con:
        con.execute(_QUARANTINE_SCHEMA)
        for table, rowid, row, reason in bad:
            con.execute("INSERT INTO quarantine (source, row, reason, wall_time) VALUES (?, ?, ?, ?)",
                        (table, json.dumps({k: _blob_safe(v) for k, v in row.items()}, default=repr), reason,
                         _wall()))
            con.execute(f"DELETE FROM {table} WHERE rowid = ?", (rowid,))
    return [" ".join(reason.split()) for _, _, _, reason in bad]
def _where(run_id: str | None, until_t: float | None, t_col: str) -> tuple[list[str], list]:
    where: list[str] = []
    args: list = []
    if run_id is not None:
        where.append("run_id = ?")
        args.append(run_id)
    if until_t is not None:
        where.append(f"{t_col} <= ?")
        args.append(float(until_t))
    return where, args


def _wrap_sqlite_errors(cls):
    """Every public method of the store raises StoreError (naming the file) instead of sqlite3's errors:
    callers handle one exception type, and the message says which database."""
    import functools

    def wrap(fn):
        @functools.wraps(fn)
        def inner(self, *a, **kw):
            try:
                return fn(self, *a, **kw)
            except sqlite3.Error as e:
                raise StoreError(f"{getattr(self, 'path', '?')}: database error ({e})") from e
        return inner

    for name, fn in list(vars(cls).items()):
        if callable(fn) and not name.startswith("_") and name not in ("transaction", "close"):
            setattr(cls, name, wrap(fn))
    return cls


_wrap_sqlite_errors(Store)


def open_store(path: str | Path) -> Store:
    """Open (or create) the workspace database at ``path``; StoreError names the file and the problem."""
    return Store(path)


def workspace_db_path(workspace: str | Path) -> Path:
    """The database file of a facility workspace folder."""
    return Path(workspace) / "colossus-ops.sqlite"


__all__ = ["Store", "StoreError", "check_file", "open_store", "workspace_db_path", "APPLICATION_ID",
           "SCHEMA_VERSION", "quarantine_rows"]
