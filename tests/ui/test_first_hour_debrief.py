"""The debrief a trainer hands back: each quantity on its own axis, round ticks, a counts axis that starts at
0, the alarm limits on the temperature chart, and a reference-actions row that agrees with its points."""

from __future__ import annotations

import re

import numpy as np
import pytest

from colossus_gui.io.session_report import charts, nice_ticks, report_html, svg_chart
from colossus_gui.model.thresholds import DEFAULT_LIMITS
from colossus_gui.model.training import TrainingScenario
from colossus_gui.ops.training import TrainingSession
from colossus_gui.testing import small_facility


def _late_drill(weight: float) -> TrainingScenario:
    """Both pumps of one CDU fail; the 'reference' is done, but late."""
    return TrainingScenario.model_validate({
        "title": "late pump pair", "seed": 4, "time_limit_s": 900,
        "faults": [{"id": "p1", "at": 60, "kind": "pump_failure", "target": "H1-R002-CDU-P1"},
                   {"id": "p2", "after": {"fault": "p1", "delay_s": 30}, "kind": "pump_failure",
                    "target": "H1-R002-CDU-P2"}],
        "scoring": {"reference_actions": {"weight": weight, "target": 0, "worst": 1}},
        "reference": [{"at": 65, "action": "assign", "target": "H1-R002-CDU-P1", "technician": "nearest",
                       "by_s": 70},
                      {"at": 95, "action": "assign", "target": "H1-R002-CDU-P2", "technician": "nearest",
                       "by_s": 100}],
    })


@pytest.fixture(scope="module")
def debriefs():
    out = {}
    for weight in (0.0, 10.0):
        sc = _late_drill(weight)
        s = TrainingSession(sc, small_facility(), seed=4)
        late = [a.model_copy(update={"at": a.at + 200, "by_s": None}) for a in sc.reference]
        s.play(late)
        out[weight] = s.debrief()
    return out


def _ticks(svg: str) -> list[str]:
    return re.findall(r'text-anchor="end">([^<]+)</text>', svg)


def test_nice_ticks_are_round_and_cover_the_data():
    for lo, hi in ((41.3, 89.7), (0.0, 0.0), (-3.2, 17.9), (0.9712, 0.9999), (1200.0, 185000.0)):
        ticks = nice_ticks(lo, hi)
        assert ticks[0] <= lo and ticks[-1] >= hi and 2 <= len(ticks) <= 9
        step = ticks[1] - ticks[0]
        mant = step / 10 ** np.floor(np.log10(step))
        assert any(abs(mant - m) < 1e-6 for m in (1, 2, 2.5, 5)), (lo, hi, ticks)
    assert nice_ticks(0.0, 0.0, integer=True) == [0.0, 1.0]  # no GPU throttled: 0 and 1, never -1.12


def test_debrief_charts_have_their_own_axes_round_ticks_and_a_counts_axis_from_zero(debriefs):
    d = debriefs[10.0]
    svgs = charts(d)
    assert "soc" in svgs and "goodput" in svgs and "soc_goodput" not in svgs, "SoC and goodput on separate axes"
    assert "Megapack state of charge (%)" in svgs["soc"] and "Goodput so far (%)" in svgs["goodput"]
    soc_ticks = [float(x.replace(",", "")) for x in _ticks(svgs["soc"])]
    soc = np.asarray(d["series"]["soc"]) * 100
    assert soc_ticks[0] <= soc.min() and soc_ticks[-1] >= soc.max()
    assert soc_ticks[-1] - soc_ticks[0] < 50, "the SoC axis follows SoC, not goodput's 0-1 scale"
    thr = [x for x in _ticks(svgs["throttled"])]
    assert thr[0] == "0" and all(re.fullmatch(r"\d[\d,]*", x) for x in thr), thr  # whole GPUs from 0
    zero = svg_chart("GPUs throttled", "GPUs", np.arange(10.0), [("throttled", np.zeros(10))], [], [], counts=True)
    assert _ticks(zero)[0] == "0" and "-" not in "".join(_ticks(zero))
    for key, svg in svgs.items():
        for x in _ticks(svg):
            assert re.fullmatch(r"-?[\d,]+(\.\d{1,2})?", x), f"{key}: tick {x!r} is not a round number"
    th = DEFAULT_LIMITS["gpu_temp"]
    assert f"warning {th.warning:g} °C" in svgs["gpu_temp"] and f"critical {th.critical:g} °C" in svgs["gpu_temp"]


def test_reference_actions_row_agrees_with_its_points(debriefs):
    for weight, d in debriefs.items():
        term = next(t for t in d["score"]["terms"] if t["key"] == "reference_actions")
        assert term["value"] == pytest.approx(1.0), "both reference actions were late"
        page = report_html(d, {})
        row = next(r for r in page.split("<tr>") if r.startswith("<td>Reference actions missed or late"))
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        if weight == 0:
            assert cells[4] == "not scored" and "for information" in cells[6]
        else:
            assert float(cells[4]) == pytest.approx(term["points_lost"]) and term["points_lost"] > 0
        assert "0 of 2 on time" in cells[1]
