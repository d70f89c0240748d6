"""The desktop application: ``colossus-gui [--facility F] [--scenario S] [--seed N] [--speed X] [--paused]``.

Fusion style with explicit dark and light palettes (the platform theme must not make a control-room display
illegible), high-DPI pass-through scaling, the last facility remembered (QSettings, skipped when
COLOSSUS_GUI_NO_SETTINGS=1), and a global exception hook: the user gets a dialog in plain words and the
simulation pauses; the full traceback goes to stderr only.

Test/automation hooks (environment): COLOSSUS_GUI_QUIT_AFTER=seconds quits after that many wall seconds;
COLOSSUS_GUI_SCREENSHOT=path saves ``window.grab()`` there just before; COLOSSUS_GUI_REPORT_FIRST_PAINT=1
prints ``first_paint_s=<seconds since main()>`` to stdout when the window is first painted.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time
import traceback
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from ..io.atomic import temp_file_beside
from .theme import apply_theme, make_palette  # noqa: F401 (re-exported)

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit code 2, no traceback
        self.exit(EXIT_USAGE, f"colossus-gui: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="colossus-gui", description="Open the Colossus GUI desktop application.")
    p.add_argument("--facility", default=None, help="built-in name (colossus, colossus-200k) or a YAML/JSON file; "
                   "default: the last one opened, else colossus")
    p.add_argument("--scenario", default=None, help="scenario file (or built-in name) with timed faults")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0, or the scenario's)")
    p.add_argument("--speed", type=float, default=1.0, help="simulation speed, simulated s per wall s (default 1)")
    p.add_argument("--paused", action="store_true", help="start paused")
    p.add_argument("--train", default=None, metavar="SCENARIO",
                   help="start a training drill (a bundled training scenario name or a file; 'choose': the drill "
                        "launcher)")
    p.add_argument("--trainee", default="trainee", help="trainee name for --train")
    p.add_argument("--goto", default=None, metavar="ADDRESS",
                   help="open at an address: H2, H2-R014, H2-R014-T3, GPUS (all GPUs), H2-ROW1 (a row section), "
                        "SITE")
    p.add_argument("--metrics-port", type=int, default=None, metavar="PORT",
                   help="serve Prometheus metrics (dcgm-exporter names) on 127.0.0.1:PORT")
    theme = p.add_mutually_exclusive_group()
    theme.add_argument("--dark", dest="dark", action="store_const", const=True, default=None, help="dark theme")
    theme.add_argument("--light", dest="dark", action="store_const", const=False, help="light theme")
    return p


# ---------------------------------------------------------------------------------------------- themes
# make_palette and apply_theme live in ui/theme.py (imported here for callers of the old place)


# ---------------------------------------------------------------------------------------------- errors
_hook_state = {"showing": False, "window": None}


def describe_exception(exc_type, exc, tb) -> tuple[str, str]:
    """(plain-words message, details) for the user: what failed and where, not a traceback."""
    msg = str(exc) or exc_type.__name__
    frames = traceback.extract_tb(tb)
    where = ""
    if frames:
        f = frames[-1]
        where = f"{Path(f.filename).name}, line {f.lineno}, in {f.name}"
    details = f"{exc_type.__name__}: {msg}" + (f"\nWhere: {where}" if where else "") + \
        "\nThe full report was written to the terminal (stderr)."
    return msg, details


def _excepthook(exc_type, exc, tb) -> None:
    if sys.stderr is not None:  # None in a windowed (no console) Windows build
        sys.stderr.write("".join(traceback.format_exception(exc_type, exc, tb)))
        sys.stderr.flush()
    if issubclass(exc_type, KeyboardInterrupt):
        app = QApplication.instance()
        if app is not None:
            app.quit()
        return
    if _hook_state["showing"] or QApplication.instance() is None:
        return
    _hook_state["showing"] = True
    try:
        win = _hook_state["window"]
        if win is not None:
            win.driver.pause()  # an error every tick must not become a dialog every tick
        msg, details = describe_exception(exc_type, exc, tb)
        box = QMessageBox(QMessageBox.Icon.Critical, "Colossus GUI: something went wrong",
                          f"An unexpected error occurred: {msg}\n\nThe simulation was paused. You can run it "
                          "again (Space), or quit and report the problem.", QMessageBox.StandardButton.Ok, win)
        box.setObjectName("exceptionDialog")
        box.setDetailedText(details)
        box.exec()
    except Exception:  # the hook must never raise
        traceback.print_exc()
    finally:
        _hook_state["showing"] = False


def install_excepthook(window=None) -> None:
    _hook_state["window"] = window
    sys.excepthook = _excepthook


# ---------------------------------------------------------------------------------------------- helpers
class _FirstPaintWatcher(QObject):
    def __init__(self, t0: float, callback):
        super().__init__()
        self.t0, self.callback, self.done = t0, callback, False

    def eventFilter(self, obj, ev):  # noqa: N802
        if not self.done and ev.type() == QEvent.Type.Paint:
            self.done = True
            QTimer.singleShot(0, lambda: self.callback(time.perf_counter() - self.t0))
        return False


def save_png_atomic(image, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = temp_file_beside(path, ".png")
    os.close(fd)
    try:
        if not image.save(tmp, "PNG"):
            raise OSError(f"cannot write {path}")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def no_display_message(env=None) -> str | None:
    """One line when no window can be opened (Linux/BSD without X11 or Wayland): Qt would otherwise abort with
    its xcb plugin message and a core dump."""
    env = os.environ if env is None else env
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return None
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return None  # offscreen, vnc, eglfs, ...: the user chose a platform that needs no display server
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return ("no display found (set DISPLAY or WAYLAND_DISPLAY, or use the headless commands: colossus-gui run, "
            "snapshot, train, validate; see colossus-gui --help)")


def _load(args, settings: QSettings | None):
    """(facility, scenario, facility_ref). Raises LoadError for what the user named on the command line."""
    from ..io.loader import (
        LoadError,
        check_scenario_targets,
        load_facility,
        load_scenario,
        resolve_scenario_path,
    )
    scenario = None
    ref = args.facility
    if args.scenario is not None:
        scenario = load_scenario(args.scenario)
        ref = ref or scenario.facility
    if ref is not None:
        fac = load_facility(ref)
    else:
        fac = None
        last = str(settings.value("lastFacility", "")) if settings is not None else ""
        if last:
            try:
                fac = load_facility(last)
                ref = last
            except LoadError as e:  # a remembered file that moved or broke: say so, open the default
                print(f"colossus-gui: last facility not opened: {e.problems[0]}", file=sys.stderr)
        if fac is None:
            ref = "colossus"
            fac = load_facility(ref)
    if scenario is not None:
        check_scenario_targets(scenario, fac, str(resolve_scenario_path(args.scenario)))
    return fac, scenario, ref


def main(argv: list[str] | None = None) -> int:
    t0 = time.perf_counter()
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if not 0.1 <= args.speed <= 10000:
        print(f"colossus-gui: error: --speed {args.speed:g}: must be between 0.1 and 10000", file=sys.stderr)
        return EXIT_USAGE
    if args.seed is not None and not 0 <= args.seed <= 2**32 - 1:
        print(f"colossus-gui: error: --seed {args.seed}: must be a whole number from 0 to {2**32 - 1}", file=sys.stderr)
        return EXIT_USAGE

    if QApplication.instance() is None and (msg := no_display_message()):
        print(f"colossus-gui: {msg}", file=sys.stderr)
        return EXIT_USAGE

    # Files first: a bad --facility/--scenario is reported on the terminal (exit code 2) before any window.
    from ..io.loader import LoadError
    from .main_window import SETTINGS_APP, SETTINGS_ORG, MainWindow, settings_enabled
    settings = QSettings(SETTINGS_ORG, SETTINGS_APP) if settings_enabled() else None
    try:
        fac, scenario, ref = _load(args, settings)
    except LoadError as e:
        for line in e.problems:
            print(f"colossus-gui: {line}", file=sys.stderr)
        return EXIT_USAGE

    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "colossus-gui"])
    app.setApplicationName("Colossus GUI")
    app.setOrganizationName("ColossusGUI")
    app.setApplicationDisplayName("Colossus GUI")
    dark = args.dark
    if dark is None:
        dark = settings is None or str(settings.value("theme", "dark")) != "light"
    apply_theme(app, dark)
    seed = args.seed if args.seed is not None else (scenario.seed if scenario is not None and scenario.seed is not None
                                                    else 0)
    from .long_task import freeze_startup_heap
    freeze_startup_heap()  # the imports and the facility, out of the garbage collector's sight (see there)
    win = MainWindow(fac, seed=seed, scenario=scenario, speed=args.speed, paused=args.paused, dark=dark,
                     facility_ref=ref, defer_heavy=True)
    install_excepthook(win)
    metrics = None
    if args.metrics_port is not None:
        from .telemetry_window import attach_metrics
        try:
            metrics = attach_metrics(win, args.metrics_port)
        except RuntimeError as e:
            print(f"colossus-gui: {e}", file=sys.stderr)
            win.shutdown()
            return EXIT_USAGE
    from PySide6.QtGui import QIcon

    from ..resources import resource
    icon = resource("icons", "colossus-gui.svg")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    QGuiApplication.setDesktopFileName("colossus-gui")  # matches the .desktop entry
    if args.train == "choose":  # the launcher, once the window is up
        QTimer.singleShot(300, lambda: win.start_training(None))
    elif args.train:
        win.start_training(args.train, args.trainee)  # problems: a dialog, the facility stays open
    row = re.fullmatch(r"(H\d+)-ROW(\d+)", args.goto.strip().upper()) if args.goto else None
    if row and row.group(1) in win.engine.topo.hall_names:
        win.show_row(win.engine.topo.hall_names.index(row.group(1)), int(row.group(2)) - 1)
    elif args.goto:
        if args.goto.strip().upper() == "GPUS":
            win.tabs.setCurrentIndex(2)
        elif not win.navigate(args.goto):
            print(f"colossus-gui: --goto {args.goto}: not an address of this facility", file=sys.stderr)
    # Ctrl+C in the terminal quits cleanly (Python only sees signals when the interpreter runs: poll)
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    sig_timer = QTimer()
    sig_timer.setObjectName("signalPollTimer")
    sig_timer.start(250)
    sig_timer.timeout.connect(lambda: None)

    if os.environ.get("COLOSSUS_GUI_REPORT_FIRST_PAINT"):
        def report(dt: float) -> None:
            print(f"first_paint_s={dt:.3f}", flush=True)
        watcher = _FirstPaintWatcher(t0, report)
        win.visible_view().installEventFilter(watcher)
        win._first_paint_watcher = watcher
    quit_after = os.environ.get("COLOSSUS_GUI_QUIT_AFTER")
    shot = os.environ.get("COLOSSUS_GUI_SCREENSHOT")
    if quit_after:
        def finish() -> None:
            if shot:
                try:
                    img = win.grab().toImage()
                    save_png_atomic(img, shot)
                    print(f"screenshot={shot} size={img.width()}x{img.height()}", flush=True)
                except OSError as e:
                    print(f"colossus-gui: screenshot: {e}", file=sys.stderr)
            win.close()
            app.quit()
        QTimer.singleShot(int(float(quit_after) * 1000), finish)

    if win.restored_geometry:
        win.show()
    else:  # first launch: use the screen (1920x1080 laptops and control-room walls alike)
        screen = app.primaryScreen()
        if screen is not None:
            win.setGeometry(screen.availableGeometry())
        win.showMaximized()
    if win.training is not None and win.training.session is not None:
        QTimer.singleShot(0, win.training.show_console)  # its own window, once the main one is up
    rc = app.exec()
    sig_timer.stop()
    if metrics is not None:
        metrics.close()
    win.shutdown()
    win.deleteLater()
    app.processEvents()
    sys.excepthook = sys.__excepthook__
    return int(rc)
