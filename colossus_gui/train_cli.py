"""``colossus-gui train``: play a training scenario headless with a scripted list of trainee actions and write
the score, the session log and the debrief report; ``colossus-gui sessions``: list stored sessions.

Bad input (scenario, actions file, output folder, database): one line naming file, field and problem; exit 2.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def add_parsers(sub, parse_seed) -> None:
    t = sub.add_parser("train", help="play a training scenario with scripted actions; write score, log and report")
    t.add_argument("scenario", help="a bundled training scenario name or a scenario file")
    t.add_argument("--actions", default=None,
                   help="actions file (YAML/JSON with an 'actions' list), or 'reference' for the scenario's "
                        "reference solution; none: the trainee does nothing")
    t.add_argument("--seed", type=parse_seed, default=None, help="default: the scenario's seed")
    t.add_argument("--trainee", default="trainee", help="trainee name (stored with the session)")
    t.add_argument("--facility", default=None, help="run on another facility than the scenario names")
    t.add_argument("--out", required=True, help="output folder (created if missing)")
    t.add_argument("--db", default=None, help="workspace database to store the session in (created if missing)")
    t.add_argument("--no-png", action="store_true", help="skip the PNG charts (no Qt needed)")
    t.add_argument("--quiet", action="store_true")
    s = sub.add_parser("sessions", help="list stored training sessions (a trainee's history with --trainee)")
    s.add_argument("--db", required=True, help="workspace database")
    s.add_argument("--trainee", default=None)


def cmd_train(args, usage_error, check_out_dir) -> int:
    from .io.loader import LoadError
    from .model.training import ScriptedAction
    from .ops.training_check import check_actions, load_actions, load_and_check

    try:
        sc, fac, path = load_and_check(args.scenario, args.facility)
    except LoadError as e:
        raise usage_error(_first(e)) from None
    out = check_out_dir(args.out)
    actions: list[ScriptedAction] = []
    if args.actions == "reference":
        actions = list(sc.reference)
    elif args.actions is not None:
        try:
            actions = load_actions(args.actions)
        except LoadError as e:
            raise usage_error(_first(e)) from None
        from .model.addresses import Topology
        from .ops.training import build_facility
        fac2 = build_facility(sc, fac)
        problems = check_actions(actions, sc, Topology(fac2), [j.name for j in fac2.jobs], args.actions, "actions")
        if problems:
            raise usage_error(problems[0] + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    store = None
    if args.db is not None:
        from .io.session_store import SessionStore
        from .io.store import StoreError
        try:
            store = SessionStore(args.db)
        except StoreError as e:
            raise usage_error(str(e)) from None
    from .io.session_report import write_report
    from .ops.training import TrainingSession
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "session.jsonl"
    if log_path.exists():
        log_path.unlink()  # a new session: the log of an earlier run in this folder is replaced
    t0 = time.perf_counter()
    session = TrainingSession(sc, fac, seed=args.seed, trainee=args.trainee, log_path=log_path,
                              scenario_name=path.stem)
    try:
        score = session.play(actions)
    finally:
        session.close()
    wall = time.perf_counter() - t0
    d = session.debrief()
    png = None
    if not args.no_png:
        try:
            from .ui.export.report_png import svg_to_png
            png = svg_to_png
        except ImportError as e:  # Qt missing: the HTML has the charts anyway
            print(f"colossus-gui: PNG charts skipped ({e})", file=sys.stderr)
    paths = write_report(d, out, png_writer=png)
    sid = None
    if store is not None:
        sid = store.add_debrief(d, log_path=log_path.resolve(), report_path=(out / "report.html").resolve())
        store.close()
    if not args.quiet:
        print(f"wrote {log_path}, " + ", ".join(str(p) for p in paths))
        for t in score.terms:
            if t.max_points > 0 or t.points_lost > 0:
                print(f"  {t.label:40s} {t.value:10.4g} {t.unit:6s} -{t.points_lost:5.1f} of {t.max_points:5.1f}")
    print(f"{sc.title}: score {score.total:.1f}/100" + (" (ABORTED)" if score.aborted else "")
          + f" for {args.trainee}, {session.t / 60:.0f} simulated min on {fac.name}, {len(actions)} scripted "
          f"action(s), {wall:.1f} s wall" + (f"; stored as session {sid}" if sid is not None else ""))
    return 0


def cmd_sessions(args, usage_error) -> int:
    from .io.session_store import SessionStore
    from .io.store import StoreError
    if not Path(args.db).exists():
        raise usage_error(f"--db {args.db}: no such database")
    try:
        st = SessionStore(args.db)
    except StoreError as e:
        raise usage_error(str(e)) from None
    for line in st.quarantined:
        print(f"colossus-gui: {args.db}: set aside a damaged row ({line}); it is kept in the quarantine table",
              file=sys.stderr)
    with st:
        if args.trainee:
            hist = st.history(args.trainee)
            if not hist:
                print(f"no sessions for {args.trainee}")
            for scen, runs in hist.items():
                print(f"{scen}:")
                for r in runs:
                    ch = f" ({r['change']:+.1f})" if r["change"] is not None else ""
                    print(f"  {r['started']}  {r['score']:5.1f}{ch}" + ("  aborted" if r["aborted"] else ""))
        else:
            for r in st.sessions():
                print(f"{r['id']:4d}  {r['started']}  {r['trainee']:16s} {r['scenario']:32s} {r['score']:5.1f}")
    return 0


def _first(e) -> str:
    return e.problems[0] + (f" (and {len(e.problems) - 1} more problem(s); run 'colossus-gui validate {e.path}')"
                            if len(e.problems) > 1 else "")


def validate_training(path: Path, facility: str | None) -> str:
    """Check a training scenario file; returns the one-line verdict, raises LoadError with every problem."""
    from .ops.training_check import load_and_check
    sc, fac, _ = load_and_check(path, facility)
    return (f"{path}: valid training scenario {sc.title!r}: {len(sc.faults)} faults, {len(sc.reference)} reference "
            f"actions, {sc.time_limit_s / 60:g} min on facility {fac.name!r}")
