"""Studies in the frozen (PyInstaller) app, checked without building the bundle: the worker processes Dask
starts can start there, and every module Dask loads by name on a study's path is one the spec bundles."""

import ast
import importlib
from pathlib import Path

import pytest

pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]


def _spec_list(name: str) -> list[str]:
    tree = ast.parse((ROOT / "packaging" / "colossus-gui.spec").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"packaging/colossus-gui.spec has no {name}")


def test_the_launcher_lets_spawned_dask_workers_start_in_the_frozen_app():
    import dask.config
    import distributed  # noqa: F401 - loads distributed.yaml into dask.config

    # workers are separate processes started by re-running the executable ("spawn")...
    assert dask.config.get("distributed.worker.multiprocessing-method") in ("spawn", "forkserver")
    # ...which in a frozen app only becomes a worker if the entry point calls freeze_support() before anything
    tree = ast.parse((ROOT / "packaging" / "launcher.py").read_text())
    guard = next(n for n in tree.body if isinstance(n, ast.If))
    first = guard.body[0].value
    assert isinstance(first, ast.Call) and ast.unparse(first.func) == "multiprocessing.freeze_support"


def test_every_module_dask_loads_by_name_for_a_study_is_bundled_and_exists():
    hidden = _spec_list("STUDY_HIDDEN")
    for name in hidden:  # a Dask upgrade that renames one fails here, not in a user's frozen app
        importlib.import_module(name)
    # the transports a study uses are registered by import, never looked up through package metadata
    # (entry points a frozen app may not carry): LocalCluster talks tcp, the GUI's in-process client inproc
    from distributed.comm.registry import backends
    assert {"tcp", "inproc"} <= set(backends)
    assert {"distributed.comm.tcp", "distributed.comm.inproc"} <= set(hidden)
    # the memory manager's policy, named as a string in distributed.yaml, is importable from the bundle
    import dask.config
    for policy in dask.config.get("distributed.scheduler.active-memory-manager.policies"):
        assert policy["class"].rsplit(".", 1)[0] in hidden
    # what a worker unpickles: the task function lives in colossus_gui (the spec collects every submodule)
    from colossus_gui.ops.study import run_task
    assert run_task.__module__.startswith("colossus_gui.")
