"""The debrief of a training session: a self-contained HTML report (briefing, score breakdown, timeline of
faults, alarms and actions beside the reference solution, charts drawn as inline SVG with faults and actions
marked), CSV files (actions, timeline, score terms) and the score as JSON.

Input is the plain dict of ``TrainingSession.debrief()``; nothing here needs Qt. PNG copies of the charts are
written only when the caller hands in a ``png_writer(svg_text, path)`` (the GUI layer has one).
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..model.thresholds import DEFAULT_LIMITS
from . import json_safe
from .atomic import atomic_write_text
from .csv_safe import safe_cell

FAULT_COLOR = "#c62828"
ACTION_COLOR = "#1565c0"
INSTRUCTOR_COLOR = "#6a1b9a"
SERIES_COLORS = ("#d84315", "#2e7d32", "#1565c0", "#6a1b9a", "#ef6c00", "#00838f")

_GPU_T = DEFAULT_LIMITS["gpu_temp"]  # the alarm limits the app uses everywhere
# chart id -> (title, unit, [(channel, label)], limit lines [(value, label)]); each chart has its own axis
# (SoC and goodput on one axis made SoC a flat line), fractions shown in %
CHARTS: tuple[tuple[str, str, str, tuple[tuple[str, str], ...], tuple[tuple[float, str], ...]], ...] = (
    ("gpu_temp", "GPU temperature", "°C", (("hottest_gpu_c", "hottest GPU"), ("p99_gpu_c", "p99 GPU")),
     ((_GPU_T.warning, f"warning {_GPU_T.warning:g} °C"), (_GPU_T.critical, f"critical {_GPU_T.critical:g} °C"))),
    ("water", "Facility water supply", "°C", (("supply_c", "supply"),), ()),
    ("power", "Power", "MW", (("it_mw", "IT"), ("grid_mw", "grid"), ("battery_mw", "Megapacks"),
                              ("turbine_mw", "turbines")), ()),
    ("soc", "Megapack state of charge", "%", (("soc", "Megapack SoC"),), ()),
    ("goodput", "Goodput so far", "%", (("goodput", "goodput since the start"),), ()),
    ("throttled", "GPUs throttled", "GPUs", (("throttled_gpus", "throttled"),), ()),
)
_PERCENT = {"soc", "goodput"}  # fraction channels drawn in %
_COUNTS = {"throttled"}  # whole numbers from 0: the axis starts at 0 and steps by whole units


def clock(t: float | None) -> str:
    if t is None or (isinstance(t, float) and not math.isfinite(t)):
        return ""
    t = max(0, int(round(t)))
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


# --------------------------------------------------------------------------- tables
def timeline_rows(d: dict) -> list[dict]:
    """Faults, alarms, acknowledgements, work orders, hints and actions, in time order."""
    rows = []
    for f in d["faults"]:
        if f.get("fired_t") is not None:
            rows.append({"t_s": f["fired_t"], "type": "fault", "who": f["origin"], "what": f"{f['id']}: {f['kind']}",
                         "detail": f"{f.get('address') or f['target']} ({f['trigger']}; {f['state']})"
                                   + (f"; {f['note']}" if f.get("note") else "")})
        if f.get("cleared_t") is not None:
            rows.append({"t_s": f["cleared_t"], "type": "fault cleared", "who": "", "what": f["id"],
                         "detail": f.get("address") or f["target"]})
    for a in d["alarms"]:
        rows.append({"t_s": a["raised_t"], "type": "alarm", "who": "system", "what": f"#{a['alarm']} {a['rule']}",
                     "detail": f"{a['severity']} on {a['component']}"})
    for w in d["work_orders"]:
        rows.append({"t_s": w["created_t"], "type": "work order", "who": w["source"],
                     "what": f"WO {w['id']} {w['recipe']}", "detail": f"{w['fault']} on {w['target']}"})
        if w.get("finished_t") is not None:
            rows.append({"t_s": w["finished_t"], "type": "work order " + w["state"], "who": w.get("technician") or "",
                         "what": f"WO {w['id']}", "detail": w["target"]})
    for r in d["actions"]:
        rows.append({"t_s": r["t_s"], "type": "action", "who": r["who"], "what": r["action"],
                     "detail": describe_action(r)})
    rows.sort(key=lambda x: (x["t_s"], _TYPE_ORDER.get(x["type"], 9)))
    return rows


_TYPE_ORDER = {"fault": 0, "alarm": 1, "work order": 2, "action": 3}


def describe_action(r: dict) -> str:
    args = ", ".join(f"{k}={v}" for k, v in r.get("args", {}).items())
    res = r.get("result") or {}
    out = args
    if res:
        out += (" -> " if out else "") + ", ".join(f"{k}={v}" for k, v in res.items())
    if not r.get("ok", True):
        out += f" [failed: {r.get('error')}]"
    if r.get("unnecessary") and r.get("ok", True):
        out += f" [unnecessary: {r['unnecessary']}]"
    return out


def _csv(rows: list[dict], cols: list[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([safe_cell("" if r.get(c) is None else r.get(c)) for c in cols])
    return buf.getvalue()


# --------------------------------------------------------------------------- charts
def _bucket(t: np.ndarray, v: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max per pixel column when there are more samples than pixels (keeps the spikes)."""
    n = t.size
    if n <= 2 * width:
        return t, v
    edges = np.linspace(0, n, width + 1).astype(int)
    lo = np.minimum.reduceat(v, edges[:-1])
    hi = np.maximum.reduceat(v, edges[:-1])
    tt = t[edges[:-1]]
    return np.repeat(tt, 2), np.column_stack([lo, hi]).ravel()


def nice_ticks(lo: float, hi: float, count: int = 5, integer: bool = False) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 × 10^k apart) that cover lo..hi: the axis runs from the first to the
    last. ``integer``: steps of whole units (counts)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = 0.0, 1.0
    if hi - lo < 1e-9:
        lo, hi = (lo - 1.0, hi + 1.0) if not integer else (lo, lo + 1.0)
    raw = (hi - lo) / max(1, count - 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * mag >= raw - 1e-12)
    if integer:
        step = max(1.0, round(step))
    first = math.floor(lo / step + 1e-9) * step
    last = math.ceil(hi / step - 1e-9) * step
    n = int(round((last - first) / step))
    return [round(first + k * step, 10) for k in range(n + 1)]


def _tick_text(v: float) -> str:
    return f"{v:,.0f}" if abs(v - round(v)) < 1e-9 else f"{v:,.10g}"


def svg_chart(title: str, unit: str, t: np.ndarray, series: list[tuple[str, np.ndarray]], faults: list[tuple],
              actions: list[tuple], limits: tuple = (), t_end: float | None = None, width: int = 960,
              height: int = 230, counts: bool = False) -> str:
    """One chart: lines, limit lines, faults (red, numbered F) and actions (blue ticks, numbered) marked.
    The value axis has round ticks; ``counts`` (GPUs throttled) starts at 0 in whole steps."""
    ml, mr, mt, mb = 56, 12, 26, 30
    pw, ph = width - ml - mr, height - mt - mb
    t0 = 0.0
    t1 = float(t_end if t_end else (t[-1] if t.size else 1.0)) or 1.0
    vals = [v[np.isfinite(v)] for _, v in series if v.size]
    vals = [v for v in vals if v.size]
    lo = min([float(v.min()) for v in vals] + [x for x, _ in limits]) if vals else 0.0
    hi = max([float(v.max()) for v in vals] + [x for x, _ in limits]) if vals else 1.0
    if counts:
        lo, hi = 0.0, max(1.0, hi)
    ticks = nice_ticks(lo, hi, integer=counts)
    lo, hi = ticks[0], ticks[-1]

    def X(x):  # noqa: N802
        return ml + (x - t0) / (t1 - t0) * pw

    def Y(y):  # noqa: N802
        return mt + (hi - y) / (hi - lo) * ph

    e = html.escape
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="{ml}" y="16" font-size="13" font-weight="bold">{e(title)} ({e(unit)})</text>',
           f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>']
    for y in ticks:
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{Y(y):.1f}" y2="{Y(y):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{ml - 4}" y="{Y(y) + 4:.1f}" text-anchor="end">{_tick_text(y)}</text>')
    step = _nice_step(t1 / 8)
    x = 0.0
    while x <= t1 + 1e-9:
        out.append(f'<text x="{X(x):.1f}" y="{mt + ph + 16}" text-anchor="middle">{clock(x)[3:] if t1 < 3600 else clock(x)[:5]}</text>')
        x += step
    for value, label in limits:
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{Y(value):.1f}" y2="{Y(value):.1f}" stroke="#e57373" '
                   f'stroke-dasharray="6 3"/><text x="{ml + pw - 4}" y="{Y(value) - 3:.1f}" text-anchor="end" '
                   f'fill="#c62828">{e(label)}</text>')
    for i, (label, v) in enumerate(series):
        if not v.size:
            continue
        tt, vv = _bucket(t, v, pw)
        ok = np.isfinite(vv)
        pts = " ".join(f"{X(a):.1f},{Y(b):.1f}" for a, b in zip(tt[ok], vv[ok], strict=True))
        c = SERIES_COLORS[i % len(SERIES_COLORS)]
        out.append(f'<polyline fill="none" stroke="{c}" stroke-width="1.4" points="{pts}"/>')
        out.append(f'<text x="{ml + 240 + 110 * i}" y="16" fill="{c}">&#9632; {e(label)}</text>')
    for n, (tf, label) in enumerate(faults, 1):
        if tf is None or tf > t1:
            continue
        out.append(f'<line x1="{X(tf):.1f}" x2="{X(tf):.1f}" y1="{mt}" y2="{mt + ph}" stroke="{FAULT_COLOR}" '
                   f'stroke-dasharray="4 3"><title>{e(label)}</title></line>'
                   f'<text x="{X(tf) + 2:.1f}" y="{mt + 10 + 11 * ((n - 1) % 3)}" fill="{FAULT_COLOR}">F{n}</text>')
    for n, (ta, label, who) in enumerate(actions, 1):
        if ta > t1:
            continue
        c = ACTION_COLOR if who == "trainee" else INSTRUCTOR_COLOR
        out.append(f'<line x1="{X(ta):.1f}" x2="{X(ta):.1f}" y1="{mt + ph - 10}" y2="{mt + ph}" stroke="{c}" '
                   f'stroke-width="2"><title>{e(label)}</title></line>')
        if n <= 60:
            out.append(f'<text x="{X(ta):.1f}" y="{mt + ph - 12 - 10 * (n % 2)}" text-anchor="middle" fill="{c}" '
                       f'font-size="9">{n}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _nice_step(x: float) -> float:
    for s in (60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400):
        if s >= x:
            return float(s)
    return 86400.0 * math.ceil(x / 86400.0)


def charts(d: dict) -> dict[str, str]:
    s = d["series"]
    t = np.asarray(s["t_s"], dtype=np.float64)
    faults = [(f["fired_t"], f"F: {f['id']} {f['kind']} {f.get('address') or f['target']}") for f in d["faults"]
              if f.get("fired_t") is not None]
    acts = [(r["t_s"], f"{r['action']} {describe_action(r)}", r["who"]) for r in d["actions"]
            if r["action"] not in ("freeze", "run", "speed")]
    out = {}
    for key, title, unit, chans, limits in CHARTS:
        series = [(label, np.asarray(s[c], dtype=np.float64) * (100.0 if key in _PERCENT else 1.0))
                  for c, label in chans if c in s]
        if key == "power" and series:
            series = [(lab, v) for lab, v in series if lab == "IT" or (v.size and np.nanmax(np.abs(v)) > 0.05)]
        out[key] = svg_chart(title, unit, t, series, faults, acts, limits, t_end=d["duration_s"] or None,
                             counts=key in _COUNTS)
    return out


# --------------------------------------------------------------------------- the report
_CSS = """
body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}
h1{margin-bottom:0} .sub{color:#555;margin-top:4px}
table{border-collapse:collapse;margin:8px 0 18px 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f2f2f2} td.num{text-align:right;font-variant-numeric:tabular-nums}
.score{font-size:42px;font-weight:bold} .bad{color:#c62828} .ok{color:#2e7d32} .late{color:#ef6c00}
.brief{background:#f7f7f7;border-left:4px solid #1565c0;padding:8px 12px;white-space:pre-wrap}
.fault{color:#c62828} .action{color:#1565c0} .instructor{color:#6a1b9a}
"""


def report_html(d: dict, chart_svgs: dict[str, str]) -> str:
    e = html.escape
    sc = d["score"]
    total = sc["total"]
    cls = "ok" if total >= 80 else ("late" if total >= 50 else "bad")
    status = "ended: " + (d.get("end_reason") or "") if d.get("ended") else "not finished (log cut short)"
    h = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Debrief: {e(d['title'])} - {e(d['trainee'])}"
         f"</title><style>{_CSS}</style></head><body>",
         f"<h1>{e(d['title'])}</h1>",
         f"<p class='sub'>Trainee <b>{e(d['trainee'])}</b> &middot; {e(d.get('started') or '')} &middot; facility "
         f"{e(d['facility'])} ({d['gpus']:,} GPUs) &middot; seed {d['seed']} &middot; simulated "
         f"{clock(d['duration_s'])} of {clock(d['time_limit_s'])} &middot; {e(status)}</p>",
         f"<p><span class='score {cls}'>{total:.1f}</span> / 100" + (" &middot; <b class='bad'>ABORTED</b>"
                                                                      if d.get("aborted") else "") + "</p>",
         "<h2>Briefing</h2>", f"<div class='brief'>{e(d.get('briefing') or '(none)')}</div>",
         "<h2>Score breakdown</h2>",
         "<table><tr><th>criterion</th><th>value</th><th>target</th><th>worst</th><th>points lost</th>"
         "<th>of</th><th>how it was measured</th></tr>"]
    for t in sc["terms"]:
        lost = t["points_lost"]
        c = "bad" if lost > 0.5 * max(t["max_points"], 1e-9) and lost > 0 else ("late" if lost > 0 else "ok")
        if t["kind"] == "objective":
            val, tgt, worst = ("met" if t["value"] >= 1 else "not met"), "met", "not met"
        elif t["kind"] in ("hints", "abort"):
            val, tgt, worst = f"{t['value']:g}", "", ""
        elif t["key"] == "reference_actions":  # a fraction: say it as the trainee reads it
            val, tgt, worst = t["detail"], f"{t['target']:.0%}", f"{t['worst']:.0%}"
        else:
            val = f"{t['value']:.4g} {t['unit']}".strip()
            tgt, worst = f"{t['target']:g}", f"{t['worst']:g}"
        lost_text = f"{lost:.1f}"
        how = t["detail"]
        if t["max_points"] <= 0:  # weight 0 in this drill: shown for information, never "late at 0 points lost"
            lost_text, c = "not scored", "ok"
            how = f"{how} (weight 0 in this drill: for information)"
        h.append(f"<tr><td>{e(t['label'])}</td><td class='num'>{e(val)}</td><td class='num'>{e(tgt)}</td>"
                 f"<td class='num'>{e(worst)}</td><td class='num {c}'>{lost_text}</td>"
                 f"<td class='num'>{t['max_points']:.1f}</td><td>{e(how)}</td></tr>")
    h.append("</table>")
    # charts
    h.append("<h2>Charts</h2><p>Red dashed lines: faults (F1, F2, ... in firing order); blue ticks: trainee "
             "actions, purple: instructor actions (numbered as in the action list; hover for details).</p>")
    for key, svg in chart_svgs.items():
        h.append(f"<div id='chart-{e(key)}'>{svg}</div>")
    # faults
    h.append("<h2>Faults</h2><table><tr><th>F</th><th>id</th><th>kind</th><th>component</th><th>trigger</th>"
             "<th>fired</th><th>cleared</th><th>state</th></tr>")
    n = 0
    for f in d["faults"]:
        tag = ""
        if f.get("fired_t") is not None:
            n += 1
            tag = f"F{n}"
        h.append(f"<tr><td class='fault'>{tag}</td><td>{e(f['id'])}</td><td>{e(f['kind'])}</td>"
                 f"<td>{e(f.get('address') or f['target'])}</td><td>{e(f['trigger'])}</td>"
                 f"<td>{clock(f.get('fired_t'))}</td><td>{clock(f.get('cleared_t'))}</td><td>{e(f['state'])}"
                 f"{(' - ' + e(f['note'])) if f.get('note') else ''}</td></tr>")
    h.append("</table>")
    # actions beside the reference
    h.append("<h2>Actions beside the reference solution</h2><table><tr><th colspan='4'>reference solution</th>"
             "<th colspan='2'>trainee</th></tr><tr><th>action</th><th>arguments</th><th>by</th><th>why</th>"
             "<th>done at</th><th>status</th></tr>")
    for m in d["reference"]:
        st = m["status"]
        c = {"on time": "ok", "late": "late"}.get(st, "bad")
        args = ", ".join(f"{k}={v}" for k, v in m["args"].items())
        h.append(f"<tr><td>{e(m['action'])}</td><td>{e(args)}</td><td>{clock(m['by_s'])}</td><td>{e(m['why'])}</td>"
                 f"<td>{clock(m['done_t'])}</td><td class='{c}'>{e(st)}</td></tr>")
    if not d["reference"]:
        h.append("<tr><td colspan='6'>no reference solution in this scenario</td></tr>")
    h.append("</table>")
    h.append("<h2>Action list</h2><table><tr><th>#</th><th>time</th><th>who</th><th>action</th><th>details</th></tr>")
    shown = [r for r in d["actions"] if r["action"] not in ("freeze", "run", "speed")]
    for k, r in enumerate(shown, 1):
        c = "action" if r["who"] == "trainee" else "instructor"
        h.append(f"<tr><td class='{c}'>{k}</td><td>{clock(r['t_s'])}</td><td>{e(r['who'])}</td>"
                 f"<td>{e(r['action'])}</td><td>{e(describe_action(r))}</td></tr>")
    h.append("</table>")
    if d.get("hints"):
        h.append("<h2>Hints</h2><table><tr><th>time</th><th>hint</th><th>cost</th></tr>")
        for x in d["hints"]:
            h.append(f"<tr><td>{clock(x['t_s'])}</td><td>{e(x['text'])}</td><td class='num'>{x['cost']:g}</td></tr>")
        h.append("</table>")
    h.append("<h2>Timeline</h2><table><tr><th>time</th><th>type</th><th>who</th><th>what</th><th>details</th></tr>")
    for r in timeline_rows(d):
        c = "fault" if r["type"].startswith("fault") else ("action" if r["type"] == "action" else "")
        h.append(f"<tr class='{c}'><td>{clock(r['t_s'])}</td><td>{e(r['type'])}</td><td>{e(str(r['who']))}</td>"
                 f"<td>{e(r['what'])}</td><td>{e(r['detail'])}</td></tr>")
    h.append("</table>")
    s = d.get("summary", {})
    h.append("<h2>Facility figures</h2><table>")
    for k in ("it_energy_mwh", "pue_mean", "gpu_temp_max_c", "interruptions", "goodput", "battery_soc_min",
              "unserved_mwh", "throttled_gpu_seconds"):
        if k in s and s[k] is not None:
            v = s[k]
            h.append(f"<tr><td>{e(k)}</td><td class='num'>{v:.4g}</td></tr>" if isinstance(v, float) else
                     f"<tr><td>{e(k)}</td><td class='num'>{e(str(v))}</td></tr>")
    h.append("</table><p class='sub'>Written by Colossus GUI. Re-simulate this session from its log "
             "(session.jsonl) to replay it.</p></body></html>")
    return "\n".join(h)


def write_report(d: dict, out: str | Path, png_writer: Callable[[str, Path], None] | None = None) -> list[Path]:
    """Write report.html, score.json, actions.csv, timeline.csv, score_terms.csv (and PNG charts with a
    ``png_writer``). Returns the paths written. Every file is written atomically."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    svgs = charts(d)
    paths = []

    def put(name: str, text: str) -> None:
        p = out / name
        atomic_write_text(p, text)
        paths.append(p)

    put("report.html", report_html(d, svgs))
    score = {"trainee": d["trainee"], "scenario": d["scenario_name"], "title": d["title"], "seed": d["seed"],
             "started": d["started"], "duration_s": d["duration_s"], "ended": d["ended"],
             "end_reason": d["end_reason"], **d["score"]}
    put("score.json", json_safe.dumps(score, indent=2) + "\n")  # a NaN would make it unreadable JSON
    acts = [{"t_s": r["t_s"], "clock": clock(r["t_s"]), "seq": r["seq"], "who": r["who"], "action": r["action"],
             "args": json.dumps(r["args"]), "ok": r["ok"], "error": r["error"], "result": json.dumps(r["result"]),
             "unnecessary": r["unnecessary"]} for r in d["actions"]]
    put("actions.csv", _csv(acts, ["t_s", "clock", "seq", "who", "action", "args", "ok", "error", "result",
                                   "unnecessary"]))
    tl = [dict(r, clock=clock(r["t_s"])) for r in timeline_rows(d)]
    put("timeline.csv", _csv(tl, ["t_s", "clock", "type", "who", "what", "detail"]))
    put("score_terms.csv", _csv(d["score"]["terms"], ["key", "label", "kind", "value", "unit", "target", "worst",
                                                      "weight", "max_points", "points_lost", "detail"]))
    put("reference.csv", _csv([dict(m, args=json.dumps(m["args"])) for m in d["reference"]],
                              ["action", "args", "when", "by_s", "done_t", "status", "why"]))
    if png_writer is not None:
        for key, svg in svgs.items():
            p = out / f"chart_{key}.png"
            png_writer(svg, p)
            paths.append(p)
    return paths
