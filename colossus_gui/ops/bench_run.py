"""Timeline figures for ``colossus-gui bench``: seeking in a recorded session and replaying a moment of it.

A session of ``hours`` on the 100k-GPU facility (a drill with no faults and no trainee actions: the cost of a
seek is the simulation, not the story) is played and closed, which caches its keyframes beside its log. Then:
- seek: 10 random moments, each from the session at its end (the replay's state), median wall time;
- replay at 5 % and at 95 % of the session, read from the log as ``colossus-gui replay --at`` does
  (session rebuilt from the log, its keyframes read, the rest simulated, the bundle written without images);
- the keyframe cache: writing the session's keyframes beside its log, reading them back (each one checked).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np


def record_session(folder: Path, hours: float, facility: str = "colossus"):
    from ..io.loader import load_facility
    from ..model.training import TrainingScenario
    from .training import TrainingSession
    sc = TrainingScenario.model_validate({"title": "bench", "seed": 1, "time_limit_s": hours * 3600.0,
                                          "faults": []})
    s = TrainingSession(sc, load_facility(facility), log_path=folder / "session.jsonl")
    t0 = time.perf_counter()
    s.play([])
    s.close()
    return s, time.perf_counter() - t0


def seek_figures(hours: float = 1.0, targets: int = 10, seed: int = 3) -> dict:
    from ..io.bundle import write_bundle
    from ..io.keyframes import read_keyframes, write_keyframes
    from .training import TrainingSession
    with tempfile.TemporaryDirectory(prefix="colossus-bench-") as tmp:
        folder = Path(tmp)
        s, record_s = record_session(folder, hours)
        log = folder / "session.jsonl"
        kf_mb = (folder / "keyframes.bin").stat().st_size / 1e6
        length = s.t
        (folder / "copy").mkdir()
        t0 = time.perf_counter()
        write_keyframes(folder / "copy", s.run.keyframes, s.run.persistent_objects(), log,
                        telemetry=s.run.telemetry_rows())
        kf_write_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        read_keyframes(folder / "copy", s.run.persistent_objects(), log)
        kf_read_s = time.perf_counter() - t0
        replay = TrainingSession.from_log(log)
        actions = replay.effective_actions()
        rng = np.random.default_rng(seed)
        times = []
        for t in rng.uniform(0, length, targets).round():
            t0 = time.perf_counter()
            replay.replay_to(actions, float(t), same_timeline=True)
            times.append(time.perf_counter() - t0)
        at = {}
        for share in (0.05, 0.95):
            t0 = time.perf_counter()
            r = TrainingSession.from_log(log, until_t=round(share * length))
            write_bundle(r.engine, folder / f"b{int(share * 100)}", include_gpu_csv=True,
                         ops_state=r.raw_ops.state_dict())
            at[share] = time.perf_counter() - t0
        return {"gpus": int(s.engine.n_gpus), "hours": hours, "record_s": record_s, "keyframes": len(s.run.keyframes),
                "keyframes_mb": kf_mb, "keyframes_write_s": kf_write_s, "keyframes_read_s": kf_read_s,
                "seek_median_s": float(np.median(times)), "seek_max_s": float(max(times)),
                "replay_5_s": at[0.05], "replay_95_s": at[0.95], "replay_ratio": at[0.95] / at[0.05]}


def timeline_bench_lines(quick: bool = False) -> list[str]:
    f = seek_figures(hours=0.25 if quick else 1.0)
    return [
        f"seek in a {f['hours']:g} h session of {f['gpus']:,} GPUs ({f['keyframes']} keyframes, "
        f"{f['keyframes_mb']:.0f} MB cached beside the log): median {f['seek_median_s'] * 1e3:.0f} ms, "
        f"max {f['seek_max_s'] * 1e3:.0f} ms over 10 random moments (target <= 1 s)",
        f"replay --at 5 %: {f['replay_5_s']:.2f} s, --at 95 %: {f['replay_95_s']:.2f} s -> "
        f"{f['replay_ratio']:.2f} x (target <= 3 x)",
        f"keyframe cache of that session ({f['keyframes_mb']:.0f} MB, data: JSON tree + array bytes): written in "
        f"{f['keyframes_write_s']:.2f} s, read and checked in {f['keyframes_read_s']:.2f} s",
    ]


__all__ = ["record_session", "seek_figures", "timeline_bench_lines"]
