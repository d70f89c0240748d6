"""``colossus-gui replay SESSION --at TIME --out BUNDLE``: the snapshot bundle of one moment of a recorded
training session, headless. The session's cached keyframes (written when it closed) make any moment about as
quick as any other; without them the session is re-simulated from its log up to that moment.

Bad input (no such session, not a session log, a time outside the session, an output that cannot be
written): one line naming the file and the problem; exit 2.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def add_parsers(sub, parse_duration) -> None:
    r = sub.add_parser("replay", help="write the snapshot bundle of a moment of a recorded training session")
    r.add_argument("session", help="the session folder (with session.jsonl) or its session.jsonl")
    r.add_argument("--at", required=True,
                   help="the moment: a simulated time (600, 30m, 1h) or a share of the session (95%%)")
    r.add_argument("--out", required=True, help="bundle folder, or a .zip file")
    r.add_argument("--no-images", action="store_true", help="skip the PNGs (no Qt needed)")
    r.set_defaults(_parse_duration=parse_duration)


def cmd_replay(args, usage_error, check_out_dir) -> int:
    from .io.bundle import BundleError, write_bundle
    from .ops.training import TrainingSession, session_length_s

    p = Path(args.session).expanduser()
    log = p / "session.jsonl" if p.is_dir() else p
    if not log.is_file():
        raise usage_error(f"{args.session}: no session log (session.jsonl) there")
    try:
        length = session_length_s(log)
    except (OSError, ValueError) as e:
        raise usage_error(f"{log}: {e}") from None
    at = _moment(args.at, length, args._parse_duration, usage_error, log)
    out = Path(args.out)
    check_out_dir(str(out.parent if out.suffix.lower() == ".zip" else out))
    t0 = time.perf_counter()
    try:
        s = TrainingSession.from_log(log, until_t=at)
    except (OSError, ValueError, KeyError) as e:
        raise usage_error(f"{log}: cannot replay ({e})") from None
    t_sim = time.perf_counter() - t0
    writers = None
    if not args.no_images:
        try:
            from .ui.export.render import bundle_png_writers
        except ImportError as e:
            print(f"colossus-gui: images skipped ({e})", file=sys.stderr)
        else:
            writers = bundle_png_writers(s.engine)
    try:
        path = write_bundle(s.engine, out, png_writers=writers, ops_state=s.raw_ops.state_dict())
    except BundleError as e:
        raise usage_error(str(e)) from None
    print(f"wrote {path} ({s.scenario.title}, {s.trainee}, t = {s.t:.0f} s of {length:.0f} s; "
          f"{s.run.steps_simulated} step(s) simulated in {t_sim:.2f} s, {time.perf_counter() - t0:.1f} s wall)")
    return 0


def _moment(text: str, length: float, parse_duration, usage_error, log: Path) -> float:
    text = str(text).strip()
    try:
        if text.endswith("%"):
            frac = float(text[:-1]) / 100.0
            if not 0.0 <= frac <= 1.0:
                raise ValueError
            return round(frac * length)
        at = float(parse_duration(text)) if text not in ("0", "0s") else 0.0
    except Exception:
        raise usage_error(f"--at {text}: not a time (600, 30m, 1h) or a share of the session (0%..100%)") from None
    if at > length + 1e-6:
        raise usage_error(f"--at {text}: the session {log} lasts {length:.0f} s")
    return at
