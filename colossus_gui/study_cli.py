"""``colossus-gui study STUDY --out DIR``: run a study on a Dask cluster (local processes by default), results
streaming into DIR/results.sqlite; then runs.csv, aggregates.csv, report.html and PNG charts.

Ctrl+C keeps every finished run; the same command again resumes and skips them. Bad input: one line naming
file, field and value; exit 2.
"""

from __future__ import annotations

import sys
import time


def add_parsers(sub, parse_duration) -> None:
    s = sub.add_parser("study", help="many seeded runs across a parameter grid on a Dask cluster; results, "
                                     "aggregates with 95 %% CI, charts and an HTML report")
    s.add_argument("study", help="a bundled study name (see 'colossus-gui facilities') or a study file")
    s.add_argument("--out", required=True, help="output folder: results.sqlite (resumable) and the report")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, default=None, help="local worker processes (default: CPU count, max 4)")
    g.add_argument("--scheduler", default=None, help="a running Dask scheduler, e.g. tcp://HOST:8786")
    s.add_argument("--seeds", type=int, default=None, help="seeds per grid point (overrides the file)")
    s.add_argument("--duration", type=parse_duration, default=None, help="simulated time per run (overrides)")
    s.add_argument("--memory-limit", default=None, help="per local worker (default 3GiB); a run above it is "
                                                        "restarted by Dask")
    s.add_argument("--no-png", action="store_true", help="skip the PNG charts (no Qt needed)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")


def _bar(p, width: int = 28) -> str:
    frac = p.done / p.total if p.total else 1.0
    filled = int(round(frac * width))
    eta = f"about {_hms(p.eta_s)} left" if p.eta_s is not None else "estimating"
    return (f"[{'#' * filled}{'.' * (width - filled)}] {p.done}/{p.total} runs ({frac:5.1%}), "
            f"{_hms(p.elapsed_s)} elapsed, {eta}")


def _hms(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def cmd_study(args, usage_error, check_out_dir) -> int:
    from .io.loader import LoadError
    from .io.study_file import load_study
    from .io.study_results import StudyStore, StudyStoreError, write_study_outputs
    from .ops.study import DEFAULT_MEMORY_LIMIT, StudyRunner

    if args.seeds is not None and args.seeds < 1:
        raise usage_error(f"--seeds {args.seeds}: must be 1 or more")
    if args.workers is not None and not 1 <= args.workers <= 256:
        raise usage_error(f"--workers {args.workers}: must be between 1 and 256")
    if args.scheduler is not None and "://" not in args.scheduler:
        raise usage_error(f"--scheduler {args.scheduler}: expected an address like tcp://HOST:8786")
    try:
        loaded = load_study(args.study, seeds=args.seeds, duration_s=args.duration)
    except LoadError as e:
        raise usage_error(e.problems[0] + (f" (and {len(e.problems) - 1} more)" if len(e.problems) > 1 else "")
                          ) from None
    out = check_out_dir(args.out)
    try:
        store = StudyStore(out / "results.sqlite")
    except StudyStoreError as e:
        raise usage_error(str(e)) from None
    store.set_meta("study", {"name": loaded.name, "path": str(loaded.path.resolve()), "seeds": loaded.seeds,
                             "duration_s": loaded.duration_s})
    runner = StudyRunner(loaded, store, scheduler=args.scheduler, workers=args.workers,
                         memory_limit=args.memory_limit or DEFAULT_MEMORY_LIMIT)
    tty = sys.stderr.isatty()
    shown = {"last": 0.0}

    def progress(p) -> None:
        if args.quiet:
            return
        now = time.perf_counter()
        if not tty and now - shown["last"] < 10 and p.done < p.total:
            return  # a log gets a line every 10 s, a terminal a live bar
        shown["last"] = now
        print(("\r" if tty else "") + _bar(p), end="" if tty else "\n", file=sys.stderr, flush=True)

    total = len(loaded.points) * loaded.seeds
    where = args.scheduler or f"a local cluster of {runner.workers} worker process(es)"
    if not args.quiet:
        print(f"{loaded.study.title}: {len(loaded.points)} grid point(s) x {loaded.seeds} seed(s) = {total} runs of "
              f"{loaded.duration_s / 3600:g} h on {where}", file=sys.stderr)
    png = None
    if not args.no_png:
        try:
            from .ui.export.report_png import svg_to_png
            png = svg_to_png
        except ImportError as e:  # Qt missing: the HTML has the charts anyway
            print(f"colossus-gui: PNG charts skipped ({e})", file=sys.stderr)
    interrupted = False
    outcome = None
    try:
        outcome = runner.run(progress)
    except KeyboardInterrupt:
        interrupted = True
    except OSError as e:  # scheduler unreachable
        raise usage_error(f"--scheduler {args.scheduler}: cannot connect ({e})") from None
    if tty and not args.quiet:
        print(file=sys.stderr)
    done = len(store.keys() & {r.key for r in loaded.runs()})
    status = "complete" if done >= total else f"partial: {done} of {total} runs"
    paths = write_study_outputs(loaded, store, out, png_writer=png, status=status)
    from .io.study_results import answer_lines, collect
    answers = answer_lines(loaded, *collect(loaded, store))
    store.close()
    if interrupted:
        print(f"colossus-gui: interrupted: {done} of {total} runs kept in {out / 'results.sqlite'}; run the same "
              "command again to resume", file=sys.stderr)
        return 130
    print(f"wrote {out / 'results.sqlite'}, " + ", ".join(str(p) for p in paths))
    o = outcome
    mem = f", worker peak RSS {o.rss_mb_max:.0f} MB" + (f" (limit {o.memory_limit})" if o.memory_limit else "")
    print(f"{loaded.study.title}: {o.finished} run(s) computed, {o.skipped} already done, {len(o.failed)} failed; "
          f"{o.wall_s:.1f} s wall on {o.workers} worker(s), {o.compute_s:.1f} s of runs{mem if o.finished else ''}")
    for key, err in o.failed[:5]:
        print(f"  failed {key}: {err}", file=sys.stderr)
    for line in answers:
        print("  " + line)
    return 1 if o.failed else 0
