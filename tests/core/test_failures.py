"""Failure statistics and goodput: what a reliability engineer would check."""

import pytest

from colossus_gui.io.loader import load_facility
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility

INTERRUPTING = ("gpu", "hbm", "nic", "software", "network")


def configured_rate_per_day(f) -> dict[str, float]:
    fl = f.failures
    rates = {"gpu": fl.gpu_per_gpu_day * f.n_gpus, "hbm": fl.hbm_per_gpu_day * f.n_gpus,
             "nic": fl.nic_per_gpu_day * f.n_gpus, "software": fl.software_per_gpu_day * f.n_gpus,
             # switch/cable: GPU links, and leaves (64 GPUs each)
             "network": (f.fabric.failures.gpu_link_per_link_day
                         + f.fabric.failures.switch_per_switch_year / 365.25 / 64) * f.n_gpus}
    # the Llama 3 hardware causes that take a tray out (GSP, thermal interface, SSD, CPU, ...) interrupt too
    rates.update({c: r * f.n_gpus for c, r in fl.tray_hardware_per_gpu_day.items()})
    return rates


@pytest.mark.slow
def test_a_week_at_100k_gpus_matches_the_configured_interruption_rate_and_causes():
    f = load_facility("colossus")
    days = 7
    eng = Engine(f, seed=2024, telemetry_capacity=100)
    eng.run(days * 86400, dt=10.0)  # 10-s steps: failures are Poisson per step, thermal is implicit
    s = eng.summary()
    rates = configured_rate_per_day(f)
    expected = sum(rates.values()) * days
    assert expected == pytest.approx(47 * days, rel=0.05)  # ~47 a day at 100k GPUs (FACILITY.md)
    assert s["interruptions"] == pytest.approx(expected, rel=0.20)
    by = s["interruptions_by_cause"]
    total = sum(by.values())
    for cause in INTERRUPTING:
        share = by.get(cause, 0) / total
        want = rates[cause] / sum(rates.values())
        assert share == pytest.approx(want, abs=0.07), (cause, share, want)
    assert 0.5 <= s["goodput"] <= 0.97
    assert s["gpu_temp_max_c"] < 87.0  # a normal week never throttles


def _goodput(checkpoint_interval_s=600.0, restart_s=480.0, days=2) -> float:
    """A small facility whose jobs see the same interruption rate as a 25k-GPU hall job."""
    f = small_facility(failures=True)
    scale = 25088 / 512  # GPUs per default job / GPUs per small job
    for name in ("gpu_per_gpu_day", "hbm_per_gpu_day", "nic_per_gpu_day", "software_per_gpu_day"):
        setattr(f.failures, name, getattr(f.failures, name) * scale)
    for job in f.jobs:
        job.checkpoint_interval_s = checkpoint_interval_s
        job.restart_s = restart_s
    eng = Engine(f, seed=77, telemetry_capacity=100)
    eng.run(days * 86400, dt=5.0)
    return eng.summary()["goodput"]


def test_goodput_falls_with_longer_checkpoint_intervals_and_slower_restarts():
    base = _goodput()
    assert 0.5 <= base <= 0.97
    assert _goodput(checkpoint_interval_s=3000.0) < base - 0.03
    assert _goodput(restart_s=1800.0) < base - 0.05
