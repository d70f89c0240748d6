"""A study's run is the project's one Run: the same steps, in the same order, as `colossus-gui run` and the
GUI, so a study's numbers for a seed are the numbers the main window shows when the run is reopened."""

from colossus_gui.io.ops_loader import load_ops_config
from colossus_gui.ops.run import Run
from colossus_gui.ops.study import StudyRun, simulate
from colossus_gui.ops.workflow import OpsManager
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility


def test_a_study_run_steps_the_one_run_and_matches_a_cli_style_run_of_the_same_seed():
    fac = small_facility(halls=1, rows=1, racks_per_row=4, failures=True)
    cfg = load_ops_config(None)
    study = StudyRun(fac, None, seed=11, dt=2.0, ops=cfg)
    assert isinstance(study.run, Run) and study.run.engine is study.engine and study.run.ops is study.ops
    assert study.advance(450) == 450 and study.run.steps_simulated == 450 and study.engine.t == 900.0
    assert study.run.keyframes == []  # figures, not history: no keyframes in a worker
    # the CLI's path: Run(engine, ops, keyframes=False).step() per step
    eng = Engine(fac, seed=11, telemetry_capacity=64, rack_telemetry_capacity=4)
    ops = OpsManager(eng, cfg, seed=11)
    cli = Run(eng, ops, dt=2.0, keyframes=False)
    cli.advance(900.0)
    a, b = study.summary(), eng.summary()
    for k in ("interruptions", "it_energy_mwh", "goodput", "gpu_temp_max_c", "pue_mean"):
        assert a[k] == b[k], k
    assert a["maintenance"] == ops.figures()
    # and simulate() is that same run
    s = simulate(fac, None, seed=11, duration_s=900.0, dt=2.0, ops=cfg)
    assert s == a
