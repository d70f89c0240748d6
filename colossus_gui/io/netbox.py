"""Import a facility layout from NetBox: sites and locations become halls, racks rows of racks, GPU
servers trays.

SOURCE is either a folder of saved NetBox REST pages (``dcim/sites``, ``dcim/locations``, ``dcim/racks``,
``dcim/devices``, ``dcim/power-panels``, ``dcim/power-feeds``, each a ``{count, next, previous, results}``
page: ``sites.json``, ``racks.json`` or ``racks-1.json``, ``racks-2.json``, ... or ``dcim/racks.json``), or
a live NetBox URL read with pynetbox (token from ``NETBOX_TOKEN``).

How things map, and what is listed instead of guessed:
- hall: each location that holds racks (a site without locations is one hall), in site then name order.
- row: a child location of the hall's location, else the rack's ``facility_id`` or name prefix before the
  last number (``A-07`` and ``A07`` are row A); racks in a row in name order.
- tray: a device whose type names a GPU the facility knows (H100, H200, HGX ...) or whose role is a GPU
  server; trays in a rack bottom-up by position. A CDU or rear door (role or type) is the rack's own.
- listed, not mapped: every other device (switches, PDUs, unknown types), racks without a hall, power
  panels (the facility models power per busway, not per panel), power feeds not attached to a mapped rack;
  feeds on mapped racks are checked against the rack's design power.
The facility is uniform (every hall rows x racks_per_row, every rack the same trays): a row shorter than
the longest, or a rack with fewer servers, is listed as padding with the position it fills.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..model.facility import Facility, RackSpec

ENDPOINTS = ("sites", "locations", "racks", "devices", "power-panels", "power-feeds")
GPU_KEYWORDS = (("GB200", "B200"), ("B200", "B200"), ("H200", "H200"), ("H100", "H100"), ("H800", "H100"),
                ("HGX", "H100"))
GPU_ROLES = ("gpu", "gpu-server", "gpu-node", "compute-gpu", "ai-server")


class NetboxError(ValueError):
    """One line naming the source, the record and the problem."""


@dataclass
class Unmapped:
    endpoint: str
    id: int | None
    name: str
    reason: str

    def line(self) -> str:
        return f"{self.endpoint} #{self.id} {self.name!r}: {self.reason}"


@dataclass
class ImportResult:
    facility: Facility
    data: dict                                    # the facility file's content
    hosts: dict[str, str] = field(default_factory=dict)      # device name -> tray address
    racks: dict[str, str] = field(default_factory=dict)      # NetBox rack name (site/location/name) -> address
    unmapped: list[Unmapped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ====================================================================== reading the pages
def _read_page(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise NetboxError(f"{path}: cannot read ({e.strerror or e})") from None
    except ValueError as e:
        raise NetboxError(f"{path}: not JSON ({e})") from None
    if isinstance(doc, list):  # a bare list of records is accepted too
        return {"count": len(doc), "next": None, "previous": None, "results": doc}
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise NetboxError(f"{path}: expected a NetBox page {{count, next, previous, results: [...]}}")
    for i, r in enumerate(doc["results"]):
        if not isinstance(r, dict) or "id" not in r:
            raise NetboxError(f"{path}: results.{i}: a record needs an 'id'")
    return doc


def read_folder(folder: str | Path) -> dict[str, list[dict]]:
    d = Path(folder)
    if not d.is_dir():
        raise NetboxError(f"{d}: not a folder of NetBox pages")
    out: dict[str, list[dict]] = {}
    for ep in ENDPOINTS:
        files = []
        for base in (d, d / "dcim"):
            for stem in (ep, ep.replace("-", "_")):
                files += sorted(base.glob(f"{stem}.json")) + sorted(
                    base.glob(f"{stem}-*.json"), key=lambda p: [int(x) if x.isdigit() else x
                                                                for x in re.split(r"(\d+)", p.stem)])
        records: dict[int, dict] = {}
        count, first = None, None
        for p in dict.fromkeys(files):
            doc = _read_page(p)
            for r in doc["results"]:
                records[r["id"]] = r
            if isinstance(doc.get("count"), int):
                count, first = max(count or 0, doc["count"]), first or p
        if count is not None and count > len(records):
            raise NetboxError(f"{first}: count says {count} records but the pages "
                              f"hold {len(records)}; save every page ({ep}-1.json, {ep}-2.json, ...)")
        out[ep] = list(records.values())
    if not out["racks"]:
        raise NetboxError(f"{d}: no racks (expected racks.json or dcim/racks.json)")
    return out


def read_live(url: str, token: str | None = None, progress: Callable[[str], None] | None = None
              ) -> dict[str, list[dict]]:
    """All six endpoints from a NetBox server with pynetbox (paginated for us)."""
    from urllib.parse import urlparse

    import pynetbox
    if urlparse(url).scheme not in ("http", "https"):
        raise NetboxError(f"{url}: expected http(s)://HOST")
    token = token or os.environ.get("NETBOX_TOKEN")
    if not token:
        raise NetboxError(f"{url}: set NETBOX_TOKEN in the environment (a read-only API token)")
    api = pynetbox.api(url, token=token)
    out = {}
    try:
        for ep in ENDPOINTS:
            if progress:
                progress(ep)
            out[ep] = [dict(r) for r in getattr(api.dcim, ep.replace("-", "_")).all()]
    except pynetbox.RequestError as e:
        raise NetboxError(f"{url}: {e}") from None
    except Exception as e:  # connection refused, TLS, DNS: one line, not a traceback
        raise NetboxError(f"{url}: {type(e).__name__}: {str(e).splitlines()[0][:200]}") from None
    return out


# ====================================================================== mapping
def _ref_id(v) -> int | None:
    if isinstance(v, dict):
        return v.get("id")
    return v if isinstance(v, int) else None


def _name(r: dict) -> str:
    return str(r.get("display") or r.get("name") or f"#{r.get('id')}")


def _natural(s: str):
    return [int(x) if x.isdigit() else x.lower() for x in re.split(r"(\d+)", s)]


def _row_key(rack: dict) -> str:
    fid = str(rack.get("facility_id") or "")
    for text in (fid, str(rack.get("name") or "")):
        m = re.match(r"^(.*?)[-_ ]?\d+$", text)
        if m and m[1]:
            return m[1].strip("-_ ").upper()
        m = re.search(r"row[-_ ]?(\w+)", text, re.I)
        if m:
            return m[1].upper()
    return ""


def _choice(v) -> str:
    """A NetBox choice field: {"value": "x", "label": "X"} in the API, or a bare "x"."""
    return str(v.get("value") if isinstance(v, dict) else v or "")


def _status(r: dict) -> str:
    return _choice(r.get("status")) or "active"


def _slugish(r: dict | None, *keys: str) -> str:
    if not isinstance(r, dict):
        return ""
    return " ".join(str(r.get(k) or "") for k in keys).lower()


def classify_device(dev: dict, known_models: set[str]) -> tuple[str, str]:
    """(kind, detail): kind 'tray' (detail: GPU model), 'cdu', 'rdhx' or 'other' (detail: why)."""
    dt = dev.get("device_type") if isinstance(dev.get("device_type"), dict) else {}
    role = dev.get("role") or dev.get("device_role")
    text = " ".join((_slugish(dt, "model", "slug", "display"), _slugish(dt.get("manufacturer"), "name", "slug")))
    role_text = _slugish(role, "slug", "name")
    if "cdu" in role_text or re.search(r"\bcdu\b|coolant distribution", text):
        return "cdu", ""
    if "rdhx" in role_text or "rear door" in role_text or re.search(r"rdhx|rear[- ]door", text):
        return "rdhx", ""
    up = text.upper()
    for kw, model in GPU_KEYWORDS:
        if kw in up:
            if model not in known_models:
                return "other", f"GPU model {model} is not in the facility's gpu_models"
            return "tray", model
    role_slug = str((role or {}).get("slug") or "").lower() if isinstance(role, dict) else ""
    if role_slug in GPU_ROLES:
        return "tray", "H100"
    model = dt.get("model") or dt.get("display") or "?"
    return "other", f"device type {model!r} (role {_slugish(role, 'name').strip() or '-'}) is not a GPU server, CDU " \
                    "or rear door"


def build_facility(records: dict[str, list[dict]], name: str | None = None, source: str = "") -> ImportResult:
    """Map NetBox records onto a facility; everything that does not map is in ``unmapped``."""
    from .loader import LoadError, validate_data
    base = Facility.model_validate({"name": "x", "halls": [{"name": "H1"}]})
    known = {m.name for m in base.gpu_models}
    sites = {r["id"]: r for r in records.get("sites", [])}
    locs = {r["id"]: r for r in records.get("locations", [])}
    unmapped: list[Unmapped] = []
    notes: list[str] = []

    # ---- halls: the location that holds racks, or its top-level ancestor if racks hang on row locations
    def hall_key(rack: dict) -> tuple[str, str, int | None, int | None]:
        site_id = _ref_id(rack.get("site"))
        loc_id = _ref_id(rack.get("location"))
        site_name = _name(sites.get(site_id, rack.get("site") or {}))
        row_loc = None
        if loc_id is not None and loc_id in locs and _ref_id(locs[loc_id].get("parent")) is not None:
            row_loc, loc_id = loc_id, _ref_id(locs[loc_id].get("parent"))
        loc_name = _name(locs.get(loc_id, {"name": ""})) if loc_id is not None else ""
        return site_name, loc_name, loc_id, row_loc

    halls: dict[tuple, list[dict]] = defaultdict(list)
    for rack in records.get("racks", []):
        if _status(rack) in ("deprecated", "decommissioning"):
            unmapped.append(Unmapped("dcim.racks", rack.get("id"), _name(rack), f"status {_status(rack)}"))
            continue
        if rack.get("site") is None:
            unmapped.append(Unmapped("dcim.racks", rack.get("id"), _name(rack), "no site"))
            continue
        halls[hall_key(rack)[:3]].append(rack)
    if not halls:
        raise NetboxError(f"{source or 'NetBox'}: no rack could be placed in a hall")
    if len(halls) > 99:
        raise NetboxError(f"{source}: {len(halls)} halls; the facility allows 99")

    # ---- devices per rack
    devices_by_rack: dict[int, list[dict]] = defaultdict(list)
    for dev in records.get("devices", []):
        rid = _ref_id(dev.get("rack"))
        if rid is None:
            unmapped.append(Unmapped("dcim.devices", dev.get("id"), _name(dev), "not in a rack"))
            continue
        devices_by_rack[rid].append(dev)

    hall_specs, hosts, rack_names, rack_addr_by_id = [], {}, {}, {}
    rack_models: dict[int, str] = {}
    max_trays = 0
    per_rack_trays: dict[int, list[dict]] = {}
    for rack_list in halls.values():
        for rack in rack_list:
            trays = []
            for dev in devices_by_rack.get(rack["id"], []):
                kind, detail = classify_device(dev, known)
                if kind == "tray":
                    trays.append(dev)
                    rack_models[rack["id"]] = detail
                elif kind in ("cdu", "rdhx"):
                    pass  # the rack's own CDU / rear door: modelled per rack
                else:
                    unmapped.append(Unmapped("dcim.devices", dev.get("id"), _name(dev), detail))
            trays.sort(key=lambda d: (d.get("position") is None, d.get("position") or 0, _natural(_name(d))))
            per_rack_trays[rack["id"]] = trays
            max_trays = max(max_trays, len(trays))
    rack_spec = RackSpec()
    trays_per_rack = max(1, min(max_trays or rack_spec.trays, 16))
    if max_trays > 16:
        notes.append(f"racks hold up to {max_trays} GPU servers; the facility allows 16 trays per rack")
    if max_trays and max_trays != rack_spec.trays:
        notes.append(f"rack.trays = {trays_per_rack} (the most GPU servers in one NetBox rack)")

    for h_i, (key, rack_list) in enumerate(sorted(halls.items(), key=lambda kv: (_natural(kv[0][0]),
                                                                                  _natural(kv[0][1])))):
        hname = f"H{h_i + 1}"
        rows: dict[str, list[dict]] = defaultdict(list)
        for rack in rack_list:
            _, _, _, row_loc = hall_key(rack)
            rows[_name(locs[row_loc]) if row_loc is not None else _row_key(rack)].append(rack)
        row_list = [sorted(v, key=lambda r: _natural(_name(r))) for _, v in sorted(rows.items(),
                                                                                  key=lambda kv: _natural(kv[0]))]
        per_row = max(len(r) for r in row_list)
        models = [rack_models[r["id"]] for r in rack_list if r["id"] in rack_models]
        model = max(set(models), key=models.count) if models else "H100"
        hall_specs.append({"name": hname, "gpu_model": model, "rows": len(row_list), "racks_per_row": per_row})
        label = " / ".join(x for x in key[:2] if x)
        notes.append(f"{hname} = {label}: {len(row_list)} row(s) x {per_row} racks, {model}")
        for ri, row in enumerate(row_list):
            for pi in range(per_row):
                num = ri * per_row + pi + 1
                addr = f"{hname}-R{num:03d}"
                if pi >= len(row):
                    unmapped.append(Unmapped("padding", None, addr, f"row {ri + 1} of {label} has {len(row)} racks, "
                                                                    f"the longest {per_row}: simulated, not in NetBox"))
                    continue
                rack = row[pi]
                rack_addr_by_id[rack["id"]] = addr
                rack_names[f"{label} / {_name(rack)}"] = addr
                trays = per_rack_trays.get(rack["id"], [])
                for ti, dev in enumerate(trays[:trays_per_rack]):
                    hosts[str(dev.get("name") or f"device-{dev['id']}")] = f"{addr}-T{ti + 1}"
                    if rack_models.get(rack["id"]) != model and dev is trays[0]:
                        unmapped.append(Unmapped("dcim.racks", rack["id"], _name(rack),
                                                 f"{rack_models[rack['id']]} servers in a {model} hall: simulated as {model}"))
                for dev in trays[trays_per_rack:]:
                    unmapped.append(Unmapped("dcim.devices", dev["id"], _name(dev), f"rack {_name(rack)} has more "
                                             f"than {trays_per_rack} GPU servers"))
                if len(trays) < trays_per_rack:
                    unmapped.append(Unmapped("padding", rack["id"], addr, f"rack {_name(rack)} has {len(trays)} GPU "
                                             f"servers: T{len(trays) + 1}-T{trays_per_rack} simulated, not in NetBox"))

    # ---- power: feeds checked against the rack's design power; panels are not modelled
    data_rack = {"trays": trays_per_rack} if trays_per_rack != rack_spec.trays else {}
    fac_rack = RackSpec(**data_rack)
    for panel in records.get("power-panels", []):
        unmapped.append(Unmapped("dcim.power-panels", panel.get("id"), _name(panel),
                                 "power panels are not modelled (power is per row busway)"))
    feeds_by_rack: dict[int, float] = defaultdict(float)
    for feed in records.get("power-feeds", []):
        rid = _ref_id(feed.get("rack"))
        if rid is None or rid not in rack_addr_by_id:
            unmapped.append(Unmapped("dcim.power-feeds", feed.get("id"), _name(feed),
                                     "not attached to a mapped rack"))
            continue
        v, a = float(feed.get("voltage") or 0), float(feed.get("amperage") or 0)
        three = _choice(feed.get("phase")) == "three-phase"
        util = float(feed.get("max_utilization") or 80) / 100
        if _choice(feed.get("type")) != "redundant":
            feeds_by_rack[rid] += v * a * (math.sqrt(3) if three else 1.0) * util
    for rid, w in feeds_by_rack.items():
        addr = rack_addr_by_id[rid]
        hall = hall_specs[int(addr[1:addr.index("-")]) - 1]
        need = fac_rack.design_power_w(base.gpu_model(hall["gpu_model"]))
        if w < need:
            notes.append(f"{addr}: primary power feeds carry {w / 1e3:.0f} kW, below the rack's design load "
                         f"{need / 1e3:.0f} kW")

    # ---- the facility file, sized for what was imported
    n_racks = sum(h["rows"] * h["racks_per_row"] for h in hall_specs)
    it_mw = n_racks * fac_rack.design_power_w(base.gpu_model("H100")) / 1e6
    ch_mw = max(0.5, round(it_mw * 1.3 / 2, 1))
    site_names = sorted({k[0] for k in halls})
    data = {
        "name": name or re.sub(r"[^a-z0-9]+", "-", "-".join(site_names).lower()).strip("-") or "netbox",
        "description": f"Imported from NetBox ({source or 'export'}): {', '.join(site_names)}",
        "halls": hall_specs,
        "site": {
            "grid": {"import_limit_mw": round(max(1.0, it_mw * 1.5), 1),
                     "ramp_limit_mw_per_s": round(max(0.1, it_mw * 0.02), 2)},
            "megapacks": {"units": max(1, math.ceil(it_mw / 1.93))},
            "turbines": {"count": max(1, math.ceil(it_mw * 1.5 / 16.5))},
            "chillers": {"count": 3, "capacity_mw": ch_mw, "loop_volume_m3": round(max(20.0, it_mw * 4), 1),
                         "flow_m3_per_s": round(max(0.05, it_mw * 0.03), 3),
                         "pump_power_mw": round(max(0.01, it_mw * 0.012), 3)},
        },
        "jobs": [{"name": f"training-{h['name'].lower()}", "halls": [h["name"]]} for h in hall_specs],
    }
    if data_rack:
        data["rack"] = data_rack
    try:
        fac = validate_data(Facility, data, source or "netbox import")
    except LoadError as e:
        raise NetboxError(f"{source}: the imported layout is not a valid facility: {e.problems[0]}") from None
    return ImportResult(fac, data, hosts, rack_names, unmapped, notes)


def write_outputs(res: ImportResult, out: Path, hosts_out: Path | None) -> list[Path]:
    import yaml

    from .atomic import atomic_write_text
    head = "# Imported from NetBox by colossus-gui import-netbox. Not mapped (NetBox id):\n" + "".join(
        f"#   {u.line()}\n" for u in res.unmapped[:500]) + (
        f"#   ... and {len(res.unmapped) - 500} more\n" if len(res.unmapped) > 500 else "")
    atomic_write_text(out, head + yaml.safe_dump(res.data, sort_keys=False, width=110))
    paths = [out]
    if hosts_out is not None:
        atomic_write_text(hosts_out, "# NetBox device name (the DCGM exporter's Hostname label) -> tray address;\n"
                                     "# use with: colossus-gui telemetry SOURCE --facility F --map this-file\n"
                          + yaml.safe_dump({"hosts": res.hosts}, sort_keys=False))
        paths.append(hosts_out)
    return paths
