"""Entry points: the GUI by default; headless subcommands (run, validate, bench, ...).

Bad arguments or files: one clear line on stderr, exit code 2, nothing written.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from . import __version__

EXIT_USAGE = 2
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$")
_UNITS = {None: 1.0, "s": 1.0, "ms": 1e-3, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
MAX_DURATION_S = 366 * 86400.0  # a year of simulated time (about 7 h of wall time for the 100k facility)
DT_RANGE = (0.01, 10.0)
MAX_STEPS = 40_000_000
SEED_MAX = 2**32 - 1


class UsageError(Exception):
    """A problem with what the user asked for; printed as one line, exit code 2."""


def parse_duration(text: str) -> float:
    """'90', '90s', '30m', '2h', '7d' -> seconds."""
    m = _DURATION_RE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (examples: 600, 30m, 2h, 7d)")
    if len(m[1]) > 20:
        raise argparse.ArgumentTypeError(f"{text[:30]!r}: not a plausible duration (at most 366d)")
    value = float(m[1]) * _UNITS[m[2]]
    if value < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r}: the duration must be at least 1 s")
    if value > MAX_DURATION_S:
        raise argparse.ArgumentTypeError(f"{text!r}: the duration may be at most 366d")
    return value


def parse_dt(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:30]!r} is not a number of seconds") from None
    if not DT_RANGE[0] <= value <= DT_RANGE[1]:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"{text[:30]!r}: the step must be between {DT_RANGE[0]:g} and "
                                         f"{DT_RANGE[1]:g} seconds")
    return value


def parse_seed(text: str) -> int:
    if not re.fullmatch(r"\s*\d{1,10}\s*", text) or int(text) > SEED_MAX:
        raise argparse.ArgumentTypeError(f"{text[:30]!r}: the seed must be a whole number from 0 to {SEED_MAX}")
    return int(text)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse prints usage too; keep it short)
        self.exit(EXIT_USAGE, f"colossus-gui: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="colossus-gui", description="Colossus GUI: see, simulate and train on a 100,000-GPU "
                "liquid-cooled AI training facility. With no subcommand, opens the desktop application.")
    p.add_argument("--version", action="version", version=f"colossus-gui {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    g = sub.add_parser("gui", help="open the desktop application (the default)")
    g.add_argument("rest", nargs=argparse.REMAINDER)

    r = sub.add_parser("run", help="run the engine headless and write timeseries.csv, events.csv, summary.json")
    r.add_argument("--duration", type=parse_duration, default=3600.0, help="simulated time (e.g. 600, 30m, 2h, 7d)")
    r.add_argument("--seed", type=parse_seed, default=None, help="default: the scenario's seed, else 0")
    r.add_argument("--facility", default=None, help="built-in name (colossus, colossus-200k) or a YAML/JSON file")
    r.add_argument("--scenario", default=None, help="scenario file with timed faults")
    r.add_argument("--dt", type=parse_dt, default=1.0, help="engine step in seconds, 0.01 to 10 (default 1)")
    r.add_argument("--out", required=True, help="output folder (created if missing)")
    r.add_argument("--quiet", action="store_true", help="no progress line")
    r.add_argument("--no-ops", action="store_true",
                   help="no technicians: failed parts are repaired after a drawn repair time instead")
    r.add_argument("--ops-config", default=None, help="alarm rules, staffing, spares (default: built-in)")
    from .realdata_cli import add_parsers as add_realdata_parsers
    from .realdata_cli import add_run_options
    add_run_options(r)

    v = sub.add_parser("validate", help="check a facility or scenario file and name every problem")
    v.add_argument("file")
    v.add_argument("--facility", default=None, help="facility to check a scenario's addresses against")

    b = sub.add_parser("bench", help="print the engine's performance figures")
    b.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    b.add_argument("--gui", action="store_true", help="also measure GUI frame times (needs Qt)")

    s = sub.add_parser("snapshot", help="run to a time and write a snapshot bundle (views rendered offscreen)")
    s.add_argument("--facility", default=None)
    s.add_argument("--scenario", default=None)
    s.add_argument("--seed", type=parse_seed, default=None)
    s.add_argument("--at", type=parse_duration, default=None, help="simulated time of the snapshot (e.g. 30m)")
    s.add_argument("--out", required=True, help="bundle folder, or a .zip file")
    s.add_argument("--no-images", action="store_true", help="skip the PNGs (no Qt needed)")

    sub.add_parser("facilities", help="list the built-in facilities and scenarios")
    from .train_cli import add_parsers as add_train_parsers
    add_train_parsers(sub, parse_seed)
    from .study_cli import add_parsers as add_study_parsers
    add_study_parsers(sub, parse_duration)
    add_realdata_parsers(sub)
    from .replay_cli import add_parsers as add_replay_parsers
    add_replay_parsers(sub, parse_duration)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"gui", "run", "validate", "bench", "facilities", "snapshot", "train", "sessions", "study",
                "import-netbox", "telemetry", "replay"}
    if not argv or (argv[0] not in commands and argv[0] not in ("-h", "--help", "--version")):
        return _gui(argv)
    if argv[0] == "gui":  # the app parses its own options (argparse's REMAINDER would drop them)
        return _gui(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        if args.command == "gui":
            return _gui(args.rest)
        if args.command == "run":
            return cmd_run(args)
        if args.command == "validate":
            return cmd_validate(args)
        if args.command == "bench":
            from .bench import run_bench
            return run_bench(quick=args.quick, gui=args.gui)
        if args.command == "facilities":
            return cmd_facilities()
        if args.command == "snapshot":
            return cmd_snapshot(args)
        if args.command in ("train", "sessions"):
            from . import train_cli
            if args.command == "train":
                return train_cli.cmd_train(args, UsageError, _check_out_dir)
            return train_cli.cmd_sessions(args, UsageError)
        if args.command == "study":
            from .study_cli import cmd_study
            return cmd_study(args, UsageError, _check_out_dir)
        if args.command in ("import-netbox", "telemetry"):
            from . import realdata_cli
            if args.command == "import-netbox":
                return realdata_cli.cmd_import_netbox(args, UsageError, _check_out_dir)
            return realdata_cli.cmd_telemetry(args, UsageError)
        if args.command == "replay":
            from .replay_cli import cmd_replay
            return cmd_replay(args, UsageError, _check_out_dir)
    except UsageError as e:
        print(f"colossus-gui: {_one_line(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:  # a write that failed half-way (disk full, a folder we may not write): nothing kept
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(_one_line(f"colossus-gui: {where}cannot write ({e.strerror or e}); nothing was written"),
              file=sys.stderr)
        return EXIT_USAGE
    except (MemoryError, RecursionError) as e:
        print(f"colossus-gui: out of memory or nested too deeply ({type(e).__name__}); nothing was written",
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("colossus-gui: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bad file found late (loaders' and writers' own errors): one line, exit 2
        msg = _bad_input_message(e)
        if msg is None:
            raise
        print(f"colossus-gui: {_one_line(msg)}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def _bad_input_message(e: Exception) -> str | None:
    from .io.bundle import BundleError
    from .io.loader import LoadError
    from .io.run_output import OutputError
    from .io.store import StoreError
    if isinstance(e, LoadError):
        return e.problems[0] if e.problems else str(e)
    if isinstance(e, BundleError | OutputError | StoreError):
        return str(e)
    return None


def _one_line(text: str) -> str:
    from .io.loader import one_line
    return one_line(text, limit=1000)


def _gui(argv: list[str]) -> int:
    from .ui.app import main as gui_main
    return int(gui_main(argv) or 0)


def _load(facility_ref, scenario_ref):
    from .io.loader import LoadError, load_facility, load_scenario
    try:
        if scenario_ref is not None:
            from .io.loader import check_scenario_targets, load_scenario_facility, resolve_scenario_path
            sc = load_scenario(scenario_ref)
            fac = (load_facility(facility_ref) if facility_ref
                   else load_scenario_facility(sc, resolve_scenario_path(scenario_ref)))
            check_scenario_targets(sc, fac, str(resolve_scenario_path(scenario_ref)))
        else:
            sc = None
            fac = load_facility(facility_ref)
    except LoadError as e:
        raise UsageError(e.problems[0] + (f" (and {len(e.problems) - 1} more problem(s); "
                                          f"run 'colossus-gui validate {e.path}')" if len(e.problems) > 1 else "")
                         ) from None
    return fac, sc


def _check_out_dir(out: str) -> Path:
    import os
    if not out or "\x00" in out:
        raise UsageError(f"--out {out!r}: not a folder name")
    d = Path(out)
    if d.exists() and not d.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    parent = d if d.exists() else next((p for p in d.parents if p.exists()), Path("."))
    if not parent.is_dir():
        raise UsageError(f"--out {out}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK):
        raise UsageError(f"--out {out}: folder {parent} is not writable")
    real = parent.resolve()
    if real.parts[:2] in (("/", "proc"), ("/", "sys"), ("/", "dev")):
        raise UsageError(f"--out {out}: {real} is a system folder, not a place for files")
    return d


def cmd_run(args) -> int:
    from .io.run_output import OutputError, check_run_out, write_run
    from .sim.engine import Engine
    fac, sc = _load(args.facility, args.scenario)
    out = _check_out_dir(args.out)
    if args.duration / args.dt > MAX_STEPS:
        raise UsageError(f"--duration {args.duration:g} s at --dt {args.dt:g} s is {args.duration / args.dt:,.0f} "
                         f"steps; at most {MAX_STEPS:,} (use a larger --dt or a shorter --duration)")
    if args.duration < args.dt:
        raise UsageError(f"--duration {args.duration:g} s is shorter than one step (--dt {args.dt:g})")
    try:
        check_run_out(out)
    except OutputError as e:
        raise UsageError(str(e)) from None
    seed = args.seed if args.seed is not None else (sc.seed if sc and sc.seed is not None else 0)
    eng = Engine(fac, seed=seed, scenario=sc, telemetry_capacity=min(int(args.duration / args.dt) + 2, 8 * 86400))
    t0 = time.perf_counter()
    tty = sys.stderr.isatty()
    show = not args.quiet and (tty or args.duration >= 6 * 3600)

    def progress(frac: float):
        el = time.perf_counter() - t0
        eta = el / frac * (1 - frac) if frac > 0 else 0
        line = (f"simulated {frac * args.duration / 3600:7.2f} h of {args.duration / 3600:.2f} h "
                f"({frac:5.1%}) elapsed {el:5.0f} s, about {eta:4.0f} s left")
        print(("\r" + line) if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)

    # a live line on a terminal; ten plain lines in a log
    ops = None
    if not args.no_ops:
        from .io.loader import LoadError
        from .io.ops_loader import load_ops_config
        from .ops.workflow import OpsManager
        try:
            cfg = load_ops_config(args.ops_config)
        except LoadError as e:
            raise UsageError(e.problems[0]) from None
        ops = OpsManager(eng, cfg, seed=seed)
    from .ops.run import Run
    from .realdata_cli import run_hooks
    run = Run(eng, ops, dt=args.dt, keyframes=False)  # one step order for the CLI, the GUI and training
    after_run_step, close_metrics = run_hooks(args, eng, None, UsageError)

    def step() -> None:
        run.step()
        if after_run_step is not None:
            after_run_step(args.dt)  # metrics endpoint and real-time pacing

    paths = write_run(eng, args.duration, args.dt, out, progress=progress if show else None,
                      progress_every_s=max(60.0, args.duration / (100 if tty else 10)), step=step,
                      extra_summary=(lambda: {"maintenance": ops.figures()}) if ops else None)
    close_metrics()  # a daemon thread: an interrupted run ends it with the process
    if show and tty:
        print(file=sys.stderr)
    s = eng.summary()
    print(f"wrote {', '.join(str(p) for p in paths)}")
    print(f"{s['gpus']:,} GPUs, {s['duration_s'] / 3600:.2f} h: IT {s['it_energy_mwh']:.1f} MWh, PUE "
          f"{s['pue_mean']:.3f}, hottest GPU {s['gpu_temp_max_c']:.1f} C, {s['interruptions']} interruptions, "
          f"goodput {s['goodput']:.3f} ({time.perf_counter() - t0:.1f} s wall)")
    return 0


def cmd_snapshot(args) -> int:
    from .io.bundle import BundleError, write_bundle
    from .sim.engine import Engine
    fac, sc = _load(args.facility, args.scenario)
    from .io.bundle import check_replaceable
    out = Path(args.out)
    _check_out_dir(str(out.parent if out.suffix.lower() == ".zip" else out))
    try:
        check_replaceable(out)  # before the run: never run for minutes and then refuse
    except BundleError as e:
        raise UsageError(str(e)) from None
    seed = args.seed if args.seed is not None else (sc.seed if sc and sc.seed is not None else 0)
    eng = Engine(fac, seed=seed, scenario=sc)
    t0 = time.perf_counter()
    if args.at:
        eng.run(args.at)
    writers = None
    if not args.no_images:
        try:
            from .ui.export.render import bundle_png_writers
        except ImportError as e:  # Qt missing or broken: say so, still write the data
            print(f"colossus-gui: images skipped ({e})", file=sys.stderr)
        else:
            writers = bundle_png_writers(eng)
    try:
        path = write_bundle(eng, out, png_writers=writers)
    except BundleError as e:
        raise UsageError(str(e)) from None
    print(f"wrote {path} ({eng.facility.name}, t = {eng.t:.0f} s, {time.perf_counter() - t0:.1f} s wall)")
    return 0


def cmd_validate(args) -> int:
    from .io.loader import LoadError, check_scenario_targets, load_facility, sniff_kind, validate_data
    from .model.scenario import Scenario
    path = Path(args.file)
    try:
        kind = sniff_kind(path)
        if kind == "facility":
            f = load_facility(path)
            print(f"{path}: valid facility {f.name!r}: {len(f.halls)} halls, {f.n_racks:,} racks, {f.n_gpus:,} GPUs")
        else:
            from .io.loader import _read_mapping
            data = _read_mapping(path)
            if set(data) - set(Scenario.model_fields) or any(
                    isinstance(f, dict) and "at" not in f for f in data.get("faults") or []):
                from .train_cli import validate_training  # a training scenario (triggers, scoring, ...)
                print(validate_training(path, args.facility))
                return 0
            sc = validate_data(Scenario, data, str(path))
            from .io.loader import load_scenario_facility
            fac = load_facility(args.facility) if args.facility else load_scenario_facility(sc, path)
            check_scenario_targets(sc, fac, str(path))
            print(f"{path}: valid scenario {sc.title!r}: {len(sc.faults)} faults on facility {fac.name!r}")
    except LoadError as e:
        for line in e.problems:
            print(line, file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, TypeError) as e:  # a training scenario's cross-checks raise these with the field named
        print(_one_line(f"{path}: {e}"), file=sys.stderr)
        return EXIT_USAGE
    return 0


def cmd_facilities() -> int:
    from .io.loader import load_facility
    from .resources import builtin_facilities, builtin_scenarios
    for name, path in builtin_facilities().items():
        f = load_facility(path)
        print(f"facility  {name:16s} {f.n_gpus:>8,} GPUs  {f.description}")
    for name, path in builtin_scenarios().items():
        print(f"scenario  {name:16s} {path}")
    from .io.study_file import builtin_studies
    for name, path in builtin_studies().items():
        print(f"study     {name:16s} {path}")
    return 0


def _json_default(o):
    import numpy as np
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(type(o).__name__)


def dump_json(data, path: Path) -> None:
    from .io.atomic import atomic_write_text
    atomic_write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


if __name__ == "__main__":
    sys.exit(main())
