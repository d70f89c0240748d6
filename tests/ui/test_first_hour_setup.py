"""A new user's first minutes: the quick start works on a bare Debian machine and every figure's source ships
with the project (a clone has nothing beside it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPS = ROOT / "packaging" / "system-deps.sh"


def _script_packages() -> set[str]:
    text = DEPS.read_text()
    block = re.search(r'pkgs="([^"]+)"', text).group(1)
    return set(block.split()) | {"libglib2.0-0", "libglib2.0-0t64"}


def test_readme_and_ci_install_the_same_system_libraries():
    readme = (ROOT / "README.md").read_text()
    quick = readme[readme.index("## Quick start"):readme.index("## What it does")]
    assert "packaging/system-deps.sh" in quick
    assert 'pytest -m "not slow"' in quick and "minutes" in quick, "say how long the tests take and the quick subset"
    ci = (ROOT / ".ci" / "run").read_text()
    assert "packaging/system-deps.sh" in ci and "apt-get install" not in ci, "one list, not two"
    for pkg in ("libxcb-icccm4", "libxcb-keysyms1", "libxcb-cursor0", "libxkbcommon-x11-0", "libegl1"):
        assert pkg in _script_packages(), pkg
        assert pkg in quick, f"README lists {pkg} for other distributions"


def test_the_script_names_every_library_qt_links_against():
    """Every shared library PySide6's xcb platform plugin and Qt GUI link against comes from a package the
    script installs (or from the base system every Debian has)."""
    if not (shutil.which("ldd") and shutil.which("dpkg")):
        pytest.skip("needs ldd and dpkg (Debian/Ubuntu)")
    import PySide6
    qt = Path(PySide6.__file__).parent / "Qt"
    files = [qt / "plugins" / "platforms" / "libqxcb.so"] + sorted((qt / "lib").glob("libQt6XcbQpa.so*"))[:1] \
        + sorted((qt / "lib").glob("libQt6Gui.so*"))[:1]
    base = {"libc6", "libstdc++6", "libgcc-s1", "zlib1g", "libsystemd0", "libzstd1", "liblz4-1", "libgcrypt20",
            "libgpg-error0", "libbsd0", "libmd0", "libpcre2-8-0", "libxau6", "libxdmcp6", "libpng16-16",
            "libbrotli1", "libglvnd0", "libexpat1", "libffi8", "libcap2", "liblzma5", "libselinux1", "libmount1",
            "libblkid1", "libuuid1"}
    wanted = _script_packages()
    for f in files:
        out = subprocess.run(["ldd", str(f)], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            m = re.match(r"\s*(\S+) => (/\S+)", line)
            if not m or "Qt6" in m.group(1):
                continue
            real = str(Path(m.group(2)).resolve())
            owner = subprocess.run(["dpkg", "-S", real], capture_output=True, text=True)
            if owner.returncode != 0:
                continue  # not from a package (a local build): nothing to check
            pkg = owner.stdout.split(":")[0].strip()
            assert pkg in wanted or pkg in base, f"{f.name} needs {m.group(1)} from {pkg}, not in system-deps.sh"


def test_the_facility_numbers_ship_with_the_project():
    readme = (ROOT / "README.md").read_text()
    assert "shared/" not in readme.replace("shared development machine", ""), "a clone has no ../shared"
    assert "resources/FACILITY.md" in readme
    facts = (ROOT / "resources" / "FACILITY.md").read_text()
    for figure in ("Llama 3", "87 °C", "Megapack", "ASHRAE", "0.015 K/W", "85 °C"):
        assert figure in facts, figure
    for path in ("colossus_gui/model/facility.py", "colossus_gui/model/ops_config.py", "resources/ops/default.yaml",
                 "resources/facilities/colossus.yaml"):
        assert "shared/FACILITY.md" not in (ROOT / path).read_text(), path
    dev = readme[readme.index("## Development"):]
    assert "ui → ops → sim → model" in dev, "the Development section says what a contributor needs"
