"""Command line for real data: ``import-netbox``, ``telemetry`` and the ``--metrics-port`` of ``run``.

Bad input: one line on stderr naming file/URL, field and problem, exit code 2 (raised as ``UsageError``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def add_parsers(sub) -> None:
    n = sub.add_parser("import-netbox", help="make a facility file from a NetBox export or a live NetBox")
    n.add_argument("source", help="folder of NetBox REST pages (sites.json, racks.json, devices-1.json, ...) "
                                  "or a NetBox URL (token from NETBOX_TOKEN)")
    n.add_argument("--out", required=True, help="facility file to write (.yaml)")
    n.add_argument("--hosts-out", default=None,
                   help="host map for 'telemetry --map' (default: OUT with .hosts.yaml)")
    n.add_argument("--name", default=None, help="facility name (default: from the site names)")

    t = sub.add_parser("telemetry", help="open the app on recorded DCGM telemetry instead of the simulation")
    t.add_argument("source", nargs="?", default=None, help="folder of saved Prometheus text scrapes of dcgm-exporter")
    t.add_argument("--facility", required=True, help="the facility the GPUs belong to (built-in name or file)")
    t.add_argument("--map", default=None, help="host map: hosts: {HOSTNAME: H1-R001-T1}, gpus: {HOST/GPU: address}")
    t.add_argument("--prometheus", default=None, metavar="URL", help="a Prometheus server (http://127.0.0.1:9090) instead of SOURCE")
    t.add_argument("--from", dest="t_from", default=None, metavar="T", help="start: Unix seconds, ISO time, now-1h")
    t.add_argument("--to", dest="t_to", default="now", metavar="T", help="end (default now)")
    t.add_argument("--step", type=float, default=15.0, help="query_range step in seconds (default 15)")
    t.add_argument("--match", default="", metavar="MATCHERS",
                   help="label matchers for every query, e.g. 'job=\"dcgm\",cluster=\"memphis\"'")
    t.add_argument("--summary", action="store_true", help="no window: load, print what was found, exit")
    t.add_argument("--dark", action="store_true", default=None, help="dark theme (the default)")
    t.add_argument("--light", dest="dark", action="store_false", help="light theme")


def add_run_options(r) -> None:
    r.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                   help="serve Prometheus metrics (dcgm-exporter names) on 127.0.0.1:PORT while running")
    r.add_argument("--realtime", type=float, default=None, metavar="SPEED",
                   help="pace the run at SPEED x the wall clock (default 1 with --metrics-port, else flat out)")


# ====================================================================== run --metrics-port
def run_hooks(args, engine, after_step, usage_error):
    """(after_step, close): publish to the metrics endpoint and pace the run against the wall clock."""
    port = getattr(args, "metrics_port", None)
    speed = getattr(args, "realtime", None)
    if port is None and speed is None:
        return after_step, lambda: None
    if speed is None:
        speed = 1.0
    if not 0.01 <= speed <= 10000:
        raise usage_error(f"--realtime {speed:g}: must be between 0.01 and 10000")
    server = None
    if port is not None:
        from .io.metrics_endpoint import MetricsError, MetricsServer
        try:
            server = MetricsServer(engine, port)
        except MetricsError as e:
            raise usage_error(str(e)) from None
        print(f"metrics on http://127.0.0.1:{server.port}/metrics", file=sys.stderr, flush=True)
    t0_wall, t0_sim = time.monotonic(), float(engine.t)

    def hook(dt: float) -> None:
        if after_step is not None:
            after_step(dt)
        if server is not None:
            server.publish()
        ahead = (engine.t - t0_sim) / speed - (time.monotonic() - t0_wall)
        if ahead > 0:
            time.sleep(min(ahead, 5.0))

    return hook, (server.close if server is not None else (lambda: None))


# ====================================================================== import-netbox
def cmd_import_netbox(args, usage_error, check_out_dir) -> int:
    from .io.netbox import NetboxError, build_facility, read_folder, read_live, write_outputs
    out = Path(args.out)
    check_out_dir(str(out.parent if str(out.parent) else "."))
    hosts_out = Path(args.hosts_out) if args.hosts_out else out.with_name(out.stem + ".hosts.yaml")
    try:
        if args.source.startswith(("http://", "https://")):
            records = read_live(args.source, progress=lambda ep: print(f"reading dcim/{ep} ...", file=sys.stderr))
        else:
            records = read_folder(args.source)
        res = build_facility(records, name=args.name, source=args.source)
    except NetboxError as e:
        raise usage_error(str(e)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = write_outputs(res, out, hosts_out)
    f = res.facility
    print(f"wrote {', '.join(str(p) for p in paths)}")
    print(f"{f.name}: {len(f.halls)} halls, {f.n_racks} racks, {f.n_gpus:,} GPUs; {len(res.hosts)} GPU servers mapped")
    for line in res.notes:
        print(f"  {line}")
    if res.unmapped:
        print(f"not mapped ({len(res.unmapped)}):")
        for u in res.unmapped:
            print(f"  {u.line()}")
    return 0


# ====================================================================== telemetry
def load_telemetry_inputs(args, usage_error):
    """(facility, host map, loader): checks everything the user named before anything is opened;
    ``loader(progress, cancelled)`` returns the recording."""
    from .io.dcgm import TelemetryError, check_url, load_host_map, parse_time, scrape_files
    from .io.loader import LoadError, load_facility
    from .model.addresses import Topology
    try:
        fac = load_facility(args.facility)
    except LoadError as e:
        raise usage_error(e.problems[0]) from None
    topo = Topology(fac)
    try:
        hm = load_host_map(args.map, topo)
        if args.prometheus:
            if args.source:
                raise TelemetryError(f"give either SOURCE ({args.source}) or --prometheus, not both")
            url = check_url(args.prometheus)
            if args.t_from is None:
                raise TelemetryError("--prometheus needs --from (and --to, default now)")
            t0, t1 = parse_time(args.t_from), parse_time(args.t_to)
            if not t1 > t0:
                raise TelemetryError(f"--from {args.t_from} .. --to {args.t_to}: the end must be after the start")
            if not 0.1 <= args.step <= 3600:
                raise TelemetryError(f"--step {args.step:g}: must be 0.1-3600 s")
            if (t1 - t0) / args.step > 2_000_000:
                raise TelemetryError(f"--from/--to/--step: {(t1 - t0) / args.step:,.0f} samples per GPU; "
                                     "use a larger --step")

            def loader(progress=None, cancelled=None):
                from .io.dcgm import fetch_prometheus
                return fetch_prometheus(url, t0, t1, args.step, topo, hm, progress=progress, cancelled=cancelled,
                                        match=args.match)
        else:
            if not args.source:
                raise TelemetryError("give SOURCE (a folder of saved scrapes) or --prometheus URL --from T")
            scrape_files(args.source)

            def loader(progress=None, cancelled=None):
                from .io.dcgm import load_scrape_folder
                return load_scrape_folder(args.source, topo, hm, progress=progress, cancelled=cancelled)
    except TelemetryError as e:
        raise usage_error(str(e)) from None
    return fac, hm, loader


def describe_recording(eng) -> list[str]:
    from datetime import UTC, datetime
    s = eng.summary()
    rec = eng.recording
    lines = [f"{rec.source}: {s['samples']} samples over {s['duration_s']:.0f} s from "
             f"{datetime.fromtimestamp(s['start_epoch_s'], UTC):%Y-%m-%d %H:%M:%S}Z, {s['gpus']:,} GPUs of "
             f"{eng.facility_name!r}",
             f"GPUs never seen: {s['gpus_never_seen']:,}; samples missing: {s['missing_fraction']:.1%}; "
             f"GPUs with XID or row-remap errors: {s['gpus_with_errors']}"]
    if rec.conflicts:
        lines.append(f"GPUs named by more than one series ({len(rec.conflicts)}; the last read wins; "
                     "narrow with --match or fix --map):")
        lines += [f"  {c}" for c in rec.conflicts[:20]]
    if rec.unmapped:
        lines.append(f"GPUs whose labels name no GPU of the facility ({len(rec.unmapped)}; see --map):")
        lines += [f"  {u}" for u in rec.unmapped[:20]]
        if len(rec.unmapped) > 20:
            lines.append(f"  ... and {len(rec.unmapped) - 20} more")
    return lines


def cmd_telemetry(args, usage_error) -> int:
    fac, _hm, loader = load_telemetry_inputs(args, usage_error)
    if not args.summary:
        from .ui.telemetry_window import main as gui_main
        return gui_main(fac, loader, dark=args.dark)
    from .io.dcgm import TelemetryError
    from .sim.replay import ReplayEngine
    try:
        rec = loader()
    except TelemetryError as e:
        raise usage_error(str(e)) from None
    if rec.n_samples == 0:
        raise usage_error(f"{rec.source}: no samples")
    eng = ReplayEngine(fac, rec)
    for line in describe_recording(eng):
        print(line)
    return 0
