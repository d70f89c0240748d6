"""Study results: the SQLite file runs stream into (one transaction per finished run, so a kill loses at most
the run in flight), the runs CSV, per-grid-point aggregates (mean and 95 % confidence interval, Student t),
charts as SVG (response curves with CI bands, distributions per point) and the HTML study report.

Nothing here needs Qt; PNG copies of the charts are written only when the caller hands in a
``png_writer(svg_text, path)`` (the GUI layer has one), as the training debrief does.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write_text
from .csv_safe import safe_cell
from .session_report import SERIES_COLORS

FORMAT = "colossus-gui study results 1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    key TEXT PRIMARY KEY, point INTEGER NOT NULL, seed_index INTEGER NOT NULL, seed TEXT NOT NULL,
    summary TEXT NOT NULL, wall_s REAL, rss_mb REAL, worker TEXT);
"""

# two-sided 95 % Student t quantiles for 1..30 degrees of freedom (beyond: interpolated in 1/df to 1.96)
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042)


class StudyStoreError(Exception):
    """A results file that cannot be used (not ours, damaged, not writable): one line."""


def t95(df: int) -> float:
    if df < 1:
        return math.nan
    if df <= 30:
        return _T95[df - 1]
    # t(df) ~ 1.96 + (t30 - 1.96) * 30 / df for large df (error < 0.002)
    return 1.959964 + (_T95[-1] - 1.959964) * 30.0 / df


class StudyStore:
    """``DIR/results.sqlite``: one row per finished run (key = hash of the run's inputs and seed)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.con = sqlite3.connect(str(self.path), timeout=30, check_same_thread=False)
            self.con.execute("PRAGMA journal_mode=WAL")
            tables = {r[0] for r in self.con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and not {"meta", "runs"} <= tables:
                raise StudyStoreError(f"{self.path}: not a study results file (tables {sorted(tables)})")
            with self.con:
                self.con.executescript(_SCHEMA)
                self.con.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (FORMAT,))
            fmt = self.con.execute("SELECT value FROM meta WHERE key='format'").fetchone()[0]
            if fmt != FORMAT:
                raise StudyStoreError(f"{self.path}: results of another format ({fmt!r})")
        except sqlite3.DatabaseError as e:
            raise StudyStoreError(f"{self.path}: cannot be used as a results file ({e})") from None
        except OSError as e:
            raise StudyStoreError(f"{self.path}: cannot be opened ({e.strerror})") from None

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> StudyStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def set_meta(self, key: str, value: Any) -> None:
        with self.con:
            self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def meta(self, key: str) -> Any:
        r = self.con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(r[0]) if r else None

    def add(self, row: dict) -> None:
        """Store one finished run (one transaction)."""
        with self.con:
            self.con.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (row["key"], int(row["point"]), int(row["seed_index"]), str(row["seed"]),
                              json.dumps(row["summary"], sort_keys=True), row.get("wall_s"), row.get("rss_mb"),
                              row.get("worker")))

    def keys(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT key FROM runs")}

    def rows_for(self, keys: Iterable[str]) -> list[dict]:
        keys = list(keys)
        out = []
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            q = f"SELECT key, seed, summary, wall_s, rss_mb, worker FROM runs WHERE key IN ({','.join('?' * len(chunk))})"
            for k, seed, summ, wall, rss, worker in self.con.execute(q, chunk):
                out.append({"key": k, "seed": int(seed), "summary": json.loads(summ), "wall_s": wall,
                            "rss_mb": rss, "worker": worker})
        return out


# --------------------------------------------------------------------------- figures and aggregates
def figure_value(summary: dict, name: str) -> float | None:
    """A summary field by dotted path (``maintenance.gpu_hours_lost``, ``jobs.0.mtbf_s``) as a float."""
    node: Any = summary
    for part in name.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    if isinstance(node, bool):
        return float(node)
    if isinstance(node, int | float) and math.isfinite(float(node)):
        return float(node)
    return None


def _stats(values: list[float]) -> dict:
    v = np.asarray(values, dtype=np.float64)
    n = int(v.size)
    if n == 0:
        return {"n": 0, "mean": None, "sd": None, "ci95": None, "lo": None, "hi": None, "min": None, "max": None}
    mean = float(v.mean())
    sd = float(v.std(ddof=1)) if n > 1 else None
    ci = t95(n - 1) * sd / math.sqrt(n) if sd is not None else None
    return {"n": n, "mean": mean, "sd": sd, "ci95": ci, "lo": mean - ci if ci is not None else None,
            "hi": mean + ci if ci is not None else None, "min": float(v.min()), "max": float(v.max())}


def aggregate(rows_per_point: list[list[dict]], figures: list[str], pass_rule: Any = None) -> list[dict]:
    """Per point: runs, and per figure n, mean, sd, ci95 (half-width of the 95 % CI of the mean), lo, hi,
    min, max; with a pass rule also the share of runs that pass and whether the point passes. Rows are sorted
    by seed index first so sums are taken in one order whatever order runs finished in."""
    out = []
    for rows in rows_per_point:
        rows = sorted(rows, key=lambda r: (r.get("seed_index", 0), r["key"]))
        agg: dict[str, Any] = {"runs": len(rows), "figures": {}}
        for f in figures:
            vals = [x for x in (figure_value(r["summary"], f) for r in rows) if x is not None]
            agg["figures"][f] = _stats(vals)
        if pass_rule is not None:
            vals = [figure_value(r["summary"], pass_rule.figure) for r in rows]
            ok = [v is not None and (pass_rule.min is None or v >= pass_rule.min)
                  and (pass_rule.max is None or v <= pass_rule.max) for v in vals]
            share = sum(ok) / len(ok) if ok else None
            agg["pass_share"] = share
            agg["passed"] = share is not None and share >= pass_rule.share
        out.append(agg)
    return out


def collect(loaded, store: StudyStore) -> tuple[list[list[dict]], list[dict]]:
    """The stored rows of each point of ``loaded`` (a LoadedStudy) and their aggregates."""
    runs = loaded.runs()
    by_key = {r["key"]: r for r in store.rows_for([r.key for r in runs])}
    per_point: list[list[dict]] = [[] for _ in loaded.points]
    for r in runs:
        row = by_key.get(r.key)
        if row is not None:
            per_point[r.point].append(dict(row, point=r.point, seed_index=r.seed_index))
    study = loaded.study
    return per_point, aggregate(per_point, study.figures, study.pass_rule)


# --------------------------------------------------------------------------- CSV
def runs_csv(loaded, per_point: list[list[dict]]) -> str:
    params = _param_names(loaded)
    figs = loaded.study.figures
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["point", "label", "case", *params, "seed_index", "seed", *figs, "wall_s", "worker", "key"])
    for i, rows in enumerate(per_point):
        p = loaded.points[i]
        for r in sorted(rows, key=lambda x: x["seed_index"]):
            vals = [figure_value(r["summary"], f) for f in figs]
            w.writerow([i, safe_cell(p["label"]), safe_cell(p["case"] or ""),
                        *[safe_cell(_cell(p["params"].get(k))) for k in params], r["seed_index"], r["seed"],
                        *["" if v is None else repr(v) for v in vals],
                        "" if r.get("wall_s") is None else f"{r['wall_s']:.3f}", safe_cell(r.get("worker") or ""),
                        r["key"]])
    return buf.getvalue()


def aggregates_csv(loaded, aggs: list[dict]) -> str:
    params = _param_names(loaded)
    figs = loaded.study.figures
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    cols = ["point", "label", "case", *params, "runs"]
    for f in figs:
        cols += [f"{f} mean", f"{f} ci95", f"{f} lo", f"{f} hi", f"{f} sd", f"{f} n"]
    if loaded.study.pass_rule is not None:
        cols += ["pass_share", "passed"]
    w.writerow(cols)
    for i, a in enumerate(aggs):
        p = loaded.points[i]
        row = [i, safe_cell(p["label"]), safe_cell(p["case"] or ""),
               *[safe_cell(_cell(p["params"].get(k))) for k in params], a["runs"]]
        for f in figs:
            s = a["figures"][f]
            row += ["" if s[k] is None else repr(s[k]) for k in ("mean", "ci95", "lo", "hi", "sd")] + [s["n"]]
        if loaded.study.pass_rule is not None:
            row += ["" if a["pass_share"] is None else repr(a["pass_share"]), int(a["passed"])]
        w.writerow(row)
    return buf.getvalue()


def _cell(v: Any) -> str:
    return "" if v is None else (json.dumps(v) if isinstance(v, dict | list) else str(v))


def _param_names(loaded) -> list[str]:
    names: list[str] = []
    for p in loaded.points:
        for k in p["params"]:
            if k not in names:
                names.append(k)
    return names


# --------------------------------------------------------------------------- charts (SVG)
def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return float(v)


def response_axis(loaded) -> str | None:
    """The grid parameter drawn along x: the first with two or more numeric values."""
    for k, values in loaded.study.grid.items():
        if len(values) >= 2 and all(_num(v) is not None for v in values):
            return k
    return None


def curve_series(loaded, aggs: list[dict], figure: str) -> tuple[str | None, list[tuple[str, list[tuple]]]]:
    """(x parameter, [(series label, [(x, mean, lo, hi), ...])]) for one figure; one series per combination
    of case and the other parameters. Without a numeric axis x is the point's index."""
    xkey = response_axis(loaded)
    groups: dict[str, list[tuple]] = {}
    for i, (p, a) in enumerate(zip(loaded.points, aggs, strict=True)):
        s = a["figures"][figure]
        if s["mean"] is None:
            continue
        if xkey is None:
            label, x = "all points", float(i)
        else:
            rest = [p["case"]] if p["case"] is not None else []
            rest += [f"{k.rsplit('.', 1)[-1]}={v}" for k, v in p["params"].items() if k in loaded.study.grid
                     and k != xkey]
            label, x = ", ".join(rest) or figure, float(p["params"][xkey])
        lo = s["lo"] if s["lo"] is not None else s["mean"]
        hi = s["hi"] if s["hi"] is not None else s["mean"]
        groups.setdefault(label, []).append((x, s["mean"], lo, hi))
    return xkey, [(k, sorted(v)) for k, v in groups.items()]


def _frame(title: str, width: int, height: int) -> list[str]:
    e = html.escape
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
            f'<text x="64" y="16" font-size="13" font-weight="bold">{e(title)}</text>']


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 x 10^k steps) covering [lo, hi]."""
    span = hi - lo
    if not (span > 0 and math.isfinite(span)):
        return [lo]
    raw = span / max(1, n - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + k * step, 12) for k in range(int((hi - first) / step + 1e-9) + 1)]


def _range(vals: list[float]) -> tuple[float, float]:
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - max(1.0, abs(lo)) * 0.05, hi + max(1.0, abs(hi)) * 0.05
    pad = 0.06 * (hi - lo)
    return lo - pad, hi + pad


def svg_response(title: str, xlabel: str, series: list[tuple[str, list[tuple]]], marks: Iterable[tuple] = (),
                 xticks: list[tuple[float, str]] | None = None, width: int = 760, height: int = 320) -> str:
    """Mean per x with a shaded 95 % CI band per series; ``marks`` are vertical lines (x, label, colour)."""
    ml, mr, mt, mb = 64, 16, 40, 40
    pw, ph = width - ml - mr, height - mt - mb
    xs = [p[0] for _, pts in series for p in pts] + [m[0] for m in marks]
    ys = [v for _, pts in series for p in pts for v in p[1:]]
    x0, x1 = _range(xs)
    y0, y1 = _range(ys)

    def X(x):  # noqa: N802
        return ml + (x - x0) / (x1 - x0) * pw

    def Y(y):  # noqa: N802
        return mt + (y1 - y) / (y1 - y0) * ph

    e = html.escape
    out = _frame(title, width, height)
    out.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    for y in nice_ticks(y0, y1):
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{Y(y):.1f}" y2="{Y(y):.1f}" stroke="#eee"/>'
                   f'<text x="{ml - 4}" y="{Y(y) + 4:.1f}" text-anchor="end">{y:.6g}</text>')
    ticks = xticks if xticks is not None else [(x, f"{x:g}") for x in sorted({p[0] for _, pts in series
                                                                              for p in pts})]
    for x, lab in ticks[:40]:
        out.append(f'<text x="{X(x):.1f}" y="{mt + ph + 14}" text-anchor="middle" font-size="10">{e(lab)}</text>')
    out.append(f'<text x="{ml + pw / 2:.0f}" y="{height - 6}" text-anchor="middle">{e(xlabel)}</text>')
    for i, (label, pts) in enumerate(series):
        c = SERIES_COLORS[i % len(SERIES_COLORS)]
        band = [f"{X(p[0]):.1f},{Y(p[3]):.1f}" for p in pts] + [f"{X(p[0]):.1f},{Y(p[2]):.1f}" for p in pts[::-1]]
        out.append(f'<polygon points="{" ".join(band)}" fill="{c}" fill-opacity="0.18" stroke="none"/>')
        line = " ".join(f"{X(p[0]):.1f},{Y(p[1]):.1f}" for p in pts)
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.8" points="{line}"/>')
        for p in pts:
            out.append(f'<circle cx="{X(p[0]):.1f}" cy="{Y(p[1]):.1f}" r="2.6" fill="{c}"/>')
        out.append(f'<text x="{ml + 6}" y="{mt - 6 - 12 * (len(series) - 1 - i) if len(series) < 3 else 30}" '
                   f'fill="{c}" dx="{0 if len(series) < 3 else 150 * i}">&#9632; {e(label)}</text>')
    for x, label, colour in marks:
        out.append(f'<line x1="{X(x):.1f}" x2="{X(x):.1f}" y1="{mt}" y2="{mt + ph}" stroke="{colour}" '
                   f'stroke-dasharray="5 3"/><text x="{X(x) + 3:.1f}" y="{mt + 12}" fill="{colour}" '
                   f'font-size="10">{e(label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def svg_distribution(title: str, labels: list[str], values: list[list[float]], width: int = 760,
                     height: int = 300) -> str:
    """Per point: every run as a dot, the interquartile box and the median line, min-max whiskers."""
    ml, mr, mt, mb = 64, 16, 28, 70
    pw, ph = width - ml - mr, height - mt - mb
    allv = [v for vs in values for v in vs]
    y0, y1 = _range(allv)
    n = max(1, len(labels))

    def X(i):  # noqa: N802
        return ml + (i + 0.5) / n * pw

    def Y(y):  # noqa: N802
        return mt + (y1 - y) / (y1 - y0) * ph

    e = html.escape
    out = _frame(title, width, height)
    out.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
    for y in nice_ticks(y0, y1):
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{Y(y):.1f}" y2="{Y(y):.1f}" stroke="#eee"/>'
                   f'<text x="{ml - 4}" y="{Y(y) + 4:.1f}" text-anchor="end">{y:.6g}</text>')
    bw = min(28.0, 0.6 * pw / n)
    for i, (lab, vs) in enumerate(zip(labels, values, strict=True)):
        x = X(i)
        if vs:
            q1, med, q3 = np.percentile(vs, [25, 50, 75])
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{Y(max(vs)):.1f}" y2="{Y(min(vs)):.1f}" stroke="#555"/>')
            out.append(f'<rect x="{x - bw / 2:.1f}" y="{Y(q3):.1f}" width="{bw:.1f}" '
                       f'height="{max(0.5, Y(q1) - Y(q3)):.1f}" fill="#bbdefb" stroke="#1565c0"/>')
            out.append(f'<line x1="{x - bw / 2:.1f}" x2="{x + bw / 2:.1f}" y1="{Y(med):.1f}" y2="{Y(med):.1f}" '
                       f'stroke="#0d47a1" stroke-width="2"/>')
            for k, v in enumerate(vs):
                dx = ((k * 0.618) % 1.0 - 0.5) * bw * 0.8  # deterministic spread
                out.append(f'<circle cx="{x + dx:.1f}" cy="{Y(v):.1f}" r="1.8" fill="#d84315" fill-opacity="0.7"/>')
        if n <= 40:
            out.append(f'<text x="{x:.1f}" y="{mt + ph + 12}" text-anchor="end" font-size="9" '
                       f'transform="rotate(-35 {x:.1f} {mt + ph + 12})">{e(lab[:28])}</text>')
    out.append("</svg>")
    return "\n".join(out)


def study_charts(loaded, per_point: list[list[dict]], aggs: list[dict]) -> dict[str, str]:
    """chart id -> SVG: a response curve and a distribution per figure."""
    study = loaded.study
    xkey = response_axis(loaded)
    out = {}
    for f in study.figures:
        xk, series = curve_series(loaded, aggs, f)
        marks: list[tuple] = []
        xticks = None
        if xk is None:
            xticks = [(float(i), p["label"][:16]) for i, p in enumerate(loaded.points)]
        if f == "goodput" and xk is not None and xk.endswith("checkpoint_interval_s"):
            for i, (_label, pts) in enumerate(series):
                opt = optimum(pts, maximise=True)
                if opt is not None:
                    marks.append((opt, f"fitted optimum {opt:.0f} s", SERIES_COLORS[i % len(SERIES_COLORS)]))
            yd = young_daly_by_series(loaded, per_point, xk)
            for label, _pts in series:
                if label in yd:
                    marks.append((yd[label], f"Young/Daly {yd[label]:.0f} s", "#555555"))
        out[f"curve_{_slug(f)}"] = svg_response(f"{f}: mean and 95 % confidence interval", xk or "grid point",
                                                series, marks, xticks)
        vals = [[v for v in (figure_value(r["summary"], f) for r in rows) if v is not None] for rows in per_point]
        out[f"dist_{_slug(f)}"] = svg_distribution(f"{f}: every run per grid point", [p["label"] for p in
                                                                                       loaded.points], vals)
    del xkey
    return out


def _slug(s: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in s)


def optimum(points: list[tuple], maximise: bool = True) -> float | None:
    """The x of the best mean: a parabola in log(x) through the best grid point and its two neighbours (the
    curve is flat near its optimum, so the vertex is a better estimate than the best point alone); the best
    point itself when the parabola does not open the right way or the best point is at the grid's edge."""
    if len(points) < 3:
        return None
    x = np.array([p[0] for p in points], dtype=np.float64)
    y = np.array([p[1] for p in points], dtype=np.float64)
    if not maximise:
        y = -y
    i = int(np.argmax(y))
    if i == 0 or i == len(x) - 1 or np.any(x <= 0):
        return float(x[i])
    u = np.log(x[i - 1:i + 2])
    a, b, _ = np.polyfit(u, y[i - 1:i + 2], 2)
    if a >= 0:
        return float(x[i])
    return float(np.exp(np.clip(-b / (2 * a), u[0], u[-1])))


def young_daly_by_series(loaded, per_point: list[list[dict]], xkey: str) -> dict[str, float]:
    """Young/Daly sqrt(2 C MTBF) per series of the response curve, from the runs' own checkpoint cost and
    failure rate (MTBF = simulated time / interruptions of the first job pooled over the series' runs; cost = the
    mean time the engine spent per checkpoint)."""
    acc: dict[str, list[float]] = {}
    for p, rows in zip(loaded.points, per_point, strict=True):
        rest = [p["case"]] if p["case"] is not None else []
        rest += [f"{k.rsplit('.', 1)[-1]}={v}" for k, v in p["params"].items() if k in loaded.study.grid
                 and k != xkey]
        label = ", ".join(rest) or "goodput"
        a = acc.setdefault(label, [0.0, 0.0, 0.0, 0])
        for r in rows:
            jobs = r["summary"].get("jobs") or []
            if jobs:
                a[0] += r["summary"]["duration_s"]
                a[1] += jobs[0]["interruptions"]
                a[2] += jobs[0]["checkpoint_cost_s"]
                a[3] += 1
    return {k: math.sqrt(2 * (c / m) * t / n) for k, (t, n, c, m) in acc.items() if n > 0}


# --------------------------------------------------------------------------- the report
_CSS = """
body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}
h1{margin-bottom:0} .sub{color:#555;margin-top:4px}
table{border-collapse:collapse;margin:8px 0 18px 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f2f2f2} td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#2e7d32} .bad{color:#c62828}
.question{background:#f7f7f7;border-left:4px solid #1565c0;padding:8px 12px;white-space:pre-wrap}
"""


def answer_lines(loaded, per_point: list[list[dict]], aggs: list[dict]) -> list[str]:
    """Plain sentences answering the study's question from the aggregates."""
    study = loaded.study
    lines = []
    if study.pass_rule is not None:
        pr = study.pass_rule
        groups: dict[str, list[int]] = {}
        for i, p in enumerate(loaded.points):
            groups.setdefault(p["case"] or "", []).append(i)
        for case, idx in groups.items():
            first = next((i for i in idx if aggs[i]["passed"]), None)
            lim = " and ".join(x for x in ((f">= {pr.min:g}" if pr.min is not None else ""),
                                           (f"<= {pr.max:g}" if pr.max is not None else "")) if x)
            pre = f"{case}: " if case else ""
            if first is None:
                lines.append(f"{pre}no grid point has {pr.figure} {lim} in {pr.share:.0%} of its seeds.")
            else:
                lines.append(f"{pre}first grid point with {pr.figure} {lim} in at least {pr.share:.0%} of seeds: "
                             f"{loaded.points[first]['label']} ({aggs[first]['pass_share']:.0%} of "
                             f"{aggs[first]['runs']} seeds).")
    xkey = response_axis(loaded)
    if xkey is not None and xkey.endswith("checkpoint_interval_s") and "goodput" in study.figures:
        _, series = curve_series(loaded, aggs, "goodput")
        yd = young_daly_by_series(loaded, per_point, xkey)
        for label, pts in series:
            opt = optimum(pts)
            best = max(pts, key=lambda p: p[1]) if pts else None
            if opt is not None and label in yd:
                lines.append(f"{label}: goodput is highest at a checkpoint interval of {opt:.0f} s (fitted; best "
                             f"grid point {best[0]:g} s at {best[1]:.4f}); Young/Daly from the runs' own "
                             f"checkpoint cost and failure rate gives {yd[label]:.0f} s "
                             f"({(opt / yd[label] - 1) * 100:+.0f} %).")
    for f in study.figures[:3]:
        means = [(a["figures"][f]["mean"], i) for i, a in enumerate(aggs) if a["figures"][f]["mean"] is not None]
        if len(means) > 1:
            lo, hi = min(means), max(means)
            lines.append(f"{f}: lowest {lo[0]:.4g} at {loaded.points[lo[1]]['label']}, highest {hi[0]:.4g} at "
                         f"{loaded.points[hi[1]]['label']}.")
    return lines


def report_html(loaded, per_point: list[list[dict]], aggs: list[dict], svgs: dict[str, str],
                status: str = "") -> str:
    e = html.escape
    st = loaded.study
    done = sum(len(r) for r in per_point)
    planned = len(loaded.points) * loaded.seeds
    h = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Study: {e(st.title)}</title>"
         f"<style>{_CSS}</style></head><body>", f"<h1>{e(st.title)}</h1>",
         f"<p class='sub'>{e(loaded.name)} &middot; {len(loaded.points)} grid point(s) &times; up to "
         f"{loaded.seeds} seed(s) (study seed {st.seed}) &middot; {loaded.duration_s / 3600:g} simulated h per run, "
         f"step {st.dt:g} s &middot; {done} of {planned} runs stored" + (f" &middot; {e(status)}" if status else "")
         + "</p>"]
    if st.question:
        h.append(f"<h2>Question</h2><div class='question'>{e(st.question.strip())}</div>")
    lines = answer_lines(loaded, per_point, aggs)
    if lines:
        h.append("<h2>Answer</h2><ul>" + "".join(f"<li>{e(x)}</li>" for x in lines) + "</ul>")
    h.append("<h2>Aggregates per grid point</h2><p>Mean &plusmn; half-width of the 95 % confidence interval of "
             "the mean (Student t over the seeds).</p><table><tr><th>#</th><th>point</th><th>runs</th>"
             + "".join(f"<th>{e(f)}</th>" for f in st.figures)
             + ("<th>pass share</th>" if st.pass_rule else "") + "</tr>")
    for i, (p, a) in enumerate(zip(loaded.points, aggs, strict=True)):
        cells = []
        for f in st.figures:
            s = a["figures"][f]
            if s["mean"] is None:
                cells.append("<td></td>")
            else:
                ci = f" &plusmn; {s['ci95']:.3g}" if s["ci95"] is not None else ""
                cells.append(f"<td class='num'>{s['mean']:.5g}{ci}</td>")
        ps = ""
        if st.pass_rule:
            share = a["pass_share"]
            ps = (f"<td class='num {'ok' if a['passed'] else 'bad'}'>{share:.0%}</td>" if share is not None
                  else "<td></td>")
        h.append(f"<tr><td>{i}</td><td>{e(p['label'])}</td><td class='num'>{a['runs']}</td>{''.join(cells)}{ps}</tr>")
    h.append("</table><h2>Charts</h2>")
    for key, svg in svgs.items():
        h.append(f"<div id='chart-{e(key)}'>{svg}</div>")
    h.append("<h2>Study file</h2><table>")
    for k in ("facility", "scenario", "ops", "overrides", "cases", "grid", "figures", "stop", "pass_rule"):
        v = getattr(st, k)
        if v not in (None, {}, []):
            v = v.model_dump() if hasattr(v, "model_dump") else v
            h.append(f"<tr><td>{e(k)}</td><td>{e(json.dumps(v))}</td></tr>")
    h.append("</table><p class='sub'>Written by Colossus GUI. Every run is re-simulated exactly from its seed and "
             "parameters (runs.csv): <code>colossus-gui study</code> resumes, the Studies window opens any run in "
             "the main window.</p></body></html>")
    return "\n".join(h)


def write_study_outputs(loaded, store: StudyStore, out: str | Path,
                        png_writer: Callable[[str, Path], Any] | None = None, status: str = "") -> list[Path]:
    """runs.csv, aggregates.csv, report.html and chart SVGs (PNGs with a ``png_writer``); atomic writes."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    per_point, aggs = collect(loaded, store)
    svgs = study_charts(loaded, per_point, aggs)
    paths = []

    def put(name: str, text: str) -> None:
        p = out / name
        atomic_write_text(p, text)
        paths.append(p)

    put("runs.csv", runs_csv(loaded, per_point))
    put("aggregates.csv", aggregates_csv(loaded, aggs))
    put("report.html", report_html(loaded, per_point, aggs, svgs, status))
    if png_writer is not None:
        for key, svg in svgs.items():
            p = out / f"{key}.png"
            png_writer(svg, p)
            paths.append(p)
    return paths
