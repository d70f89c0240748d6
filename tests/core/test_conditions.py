import pytest

from colossus_gui.model.addresses import Topology
from colossus_gui.ops.conditions import ConditionError, parse_condition
from colossus_gui.sim.engine import Engine
from colossus_gui.testing import small_facility


@pytest.fixture(scope="module")
def engine():
    e = Engine(small_facility(), seed=1)
    e.run(60)
    return e


def test_site_and_rack_conditions_follow_the_engine(engine):
    topo = engine.topo
    assert parse_condition("megapack_soc < 0.99", topo).holds(engine)
    assert not parse_condition("megapack_soc < 0.3", topo).holds(engine)
    c = parse_condition("H1-R002 return_temp_c > 20 and H1-R002 flow_frac >= 0.99", topo)
    assert c.holds(engine)
    assert [cl.racks for cl in c.clauses] == [(1,), (1,)]
    assert parse_condition("megapack_soc < 0.3 or H2 hottest_gpu_c > 30", topo).holds(engine)
    assert len(parse_condition("H2 hottest_gpu_c > 30", topo).clauses[0].racks) == 8


def test_a_condition_changes_with_the_facility():
    e = Engine(small_facility(), seed=2)
    e.run(60)
    cond = parse_condition("H1-R003 flow_frac < 0.5", e.topo)
    assert not cond.holds(e)
    e.inject("pump_failure", "H1-R003-CDU-P1")
    e.inject("pump_failure", "H1-R003-CDU-P2")
    e.run(5)
    assert cond.holds(e)


@pytest.mark.parametrize("text, message", [
    ("", "empty condition"),
    ("soc < 0.3", "unknown site metric 'soc'"),
    ("megapack_soc 0.3", "expected a comparison"),
    ("megapack_soc < high", "expected a number"),
    ("H9-R001 return_temp_c > 50", "no hall H9"),
    ("H1-R001 voltage > 3", "unknown rack metric 'voltage'"),
    ("megapack_soc < 0.3 xor pue > 1", "expected 'and' or 'or'"),
    ("__import__('os') > 1", "unexpected"),
    ("GRID return_temp_c > 1", "not in a rack"),
])
def test_bad_conditions_say_what_is_wrong(text, message):
    topo = Topology(small_facility())
    with pytest.raises(ConditionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_condition(text, topo)
