"""DCGM exporter telemetry in: saved Prometheus text-format scrapes, or a live Prometheus ``query_range``.

Both give a :class:`~colossus_gui.sim.replay.GpuRecording`: numpy arrays (time x GPU) with NaN wherever a
GPU had no sample -- a missing GPU is never a zero. Host and GPU labels (``Hostname`` and ``gpu``, as
NVIDIA's dcgm-exporter writes them) name GPUs of the facility through a map file::

    hosts:                        # a server is a tray; its GPU i is G(i+1) of that tray
      gpu-node-0001: H1-R001-T1
      gpu-node-0002: H1-R001-T2
    gpus:                         # optional single GPUs, overriding the host rule
      gpu-node-0001/3: H1-R001-T1-G5

Without a map file, a host label that is itself a tray address (``H1-R001-T1``, as the app's own metrics
endpoint writes it) maps to that tray.

Text scrapes are parsed with prometheus-client's parser and HTTP requests go through ``requests``; the
``query_range`` JSON is decoded with numpy straight from the response bytes (the labels with ``json``),
which is what makes millions of samples per second possible.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..model.addresses import AddressError, Topology
from ..sim.replay import METRICS, GpuRecording

SIM_TIME_METRIC = "colossus_sim_time_seconds"
MAX_POINTS_PER_QUERY = 10_000  # Prometheus refuses more than 11,000 points per series in one query_range
HOST_LABELS = ("Hostname", "hostname", "host", "node", "instance")

_FIELD = {"DCGM_FI_DEV_GPU_TEMP": "temp_c", "DCGM_FI_DEV_POWER_USAGE": "power_w",
          "DCGM_FI_DEV_XID_ERRORS": "xid", "DCGM_FI_DEV_ROW_REMAP_FAILURE": "row_remap_failure"}


class TelemetryError(ValueError):
    """Telemetry that cannot be read: one line naming the file or URL, the field and the problem."""


class Cancelled(Exception):
    """The user cancelled a load."""


# ====================================================================== host/GPU labels -> GPU index
@dataclass
class HostMap:
    topo: Topology
    hosts: dict[str, int] = field(default_factory=dict)          # host -> flat tray index
    gpus: dict[tuple[str, str], int] = field(default_factory=dict)  # (host, gpu label) -> flat GPU index
    source: str = "(tray addresses as host names)"

    def host_of(self, labels: dict[str, str]) -> str | None:
        for k in HOST_LABELS:
            v = labels.get(k)
            if v:
                return v.rsplit(":", 1)[0] if k == "instance" else v
        return None

    def gpu_index(self, labels: dict[str, str]) -> int | None:
        host, gpu = self.host_of(labels), labels.get("gpu")
        if host is None or gpu is None:
            return None
        g = self.gpus.get((host, gpu))
        if g is not None:
            return g
        tray = self.hosts.get(host)
        if tray is None:
            tray = self._tray_from_address(host)
            if tray is None:
                return None
        try:
            gi = int(gpu)
        except ValueError:
            return None
        if not 0 <= gi < self.topo.gpus_per_tray:
            return None
        return tray * self.topo.gpus_per_tray + gi

    def _tray_from_address(self, host: str) -> int | None:
        if not host.startswith("H") or "-T" not in host:
            return None
        try:
            a = self.topo.parse(host)
        except AddressError:
            return None
        return a.index if a.kind == "tray" else None


def load_host_map(path: str | Path | None, topo: Topology) -> HostMap:
    if path is None:
        return HostMap(topo)
    import yaml
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise TelemetryError(f"{p}: cannot read ({e.strerror or e})") from None
    except yaml.YAMLError as e:
        raise TelemetryError(f"{p}: not YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict) or not set(data) <= {"hosts", "gpus"}:
        raise TelemetryError(f"{p}: expected a mapping with 'hosts' (host: tray address) and optional 'gpus'")
    hm = HostMap(topo, source=str(p))
    for host, addr in (data.get("hosts") or {}).items():
        a = _parse_addr(p, f"hosts.{host}", addr, topo)
        if a.kind != "tray":
            raise TelemetryError(f"{p}: hosts.{host}: {addr!r} is a {a.kind}; a host maps to a tray (H1-R001-T1)")
        hm.hosts[str(host)] = a.index
    for key, addr in (data.get("gpus") or {}).items():
        host, sep, gpu = str(key).rpartition("/")
        if not sep or not host:
            raise TelemetryError(f"{p}: gpus.{key}: key must be HOST/GPU (e.g. node-01/3)")
        a = _parse_addr(p, f"gpus.{key}", addr, topo)
        if a.kind != "gpu":
            raise TelemetryError(f"{p}: gpus.{key}: {addr!r} is a {a.kind}, not a GPU (H1-R001-T1-G1)")
        hm.gpus[(host, gpu)] = a.index
    return hm


def _parse_addr(p: Path, where: str, addr, topo: Topology):
    try:
        return topo.parse(str(addr))
    except AddressError as e:
        raise TelemetryError(f"{p}: {where}: {e}") from None


def _series_name(labels: dict[str, str], extra: tuple[str, ...] = ()) -> str:
    """How an unmapped GPU is listed: its labels that could name it (one line per GPU, not per metric)."""
    keep = (*HOST_LABELS, "gpu", "UUID", *extra)
    return "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k in keep) + "}"


class _Owners:
    """Which series fed each (field, GPU): a second one is a conflict (two jobs scraping the same GPU, two
    hosts mapped to one tray) that is listed, not silently merged."""

    def __init__(self, topo: Topology):
        self.topo = topo
        self.first: dict[tuple[str, int], str] = {}
        self.conflicts: dict[str, None] = {}

    def see(self, fieldname: str, gpu: int, labels: dict[str, str]) -> None:
        name = _series_name(labels, ("job", "instance"))
        prev = self.first.setdefault((fieldname, gpu), name)
        if prev != name and len(self.conflicts) < 1000:
            self.conflicts[f"{self.topo.gpu_address(gpu)}: {prev} and {name}"] = None


# ====================================================================== assembling a recording
class _Builder:
    """Samples into (time x GPU) arrays, NaN where nothing came."""

    def __init__(self, times_s: np.ndarray, n_gpus: int):
        self.times_s = np.asarray(times_s, dtype=np.float64)
        t = self.times_s.size
        self.arrays = {f: np.full((t, n_gpus), np.nan, dtype=np.float32) for f in _FIELD.values()}
        self.extra: dict[str, np.ndarray] = {}
        self.unmapped: dict[str, None] = {}
        self.owners: _Owners | None = None

    def put(self, metric: str, gpu: int | None, labels: dict, rows: np.ndarray, values: np.ndarray) -> None:
        if metric == SIM_TIME_METRIC:
            arr = self.extra.setdefault(metric, np.full(self.times_s.size, np.nan))
            arr[rows] = values
            return
        f = _FIELD.get(metric)
        if f is None:
            return
        if gpu is None:
            if len(self.unmapped) < 10_000:
                self.unmapped[_series_name(labels)] = None
            return
        if self.owners is not None:
            self.owners.see(f, gpu, labels)
        self.arrays[f][rows, gpu] = values

    def recording(self, source: str) -> GpuRecording:
        a = self.arrays
        return GpuRecording(self.times_s, a["temp_c"], a["power_w"], a["xid"], a["row_remap_failure"],
                            source=source, unmapped=list(self.unmapped), extra=self.extra,
                            conflicts=list(self.owners.conflicts) if self.owners is not None else [])


# ====================================================================== saved text scrapes
_EPOCH_RE = re.compile(r"(?<!\d)(\d{10})(?:[._](\d{1,3}))?(?!\d)")
_ISO_RE = re.compile(r"(\d{8})T(\d{6})Z?")
_WANTED = (*METRICS, SIM_TIME_METRIC)


def _file_time(path: Path, samples_ts: list[float]) -> float:
    if samples_ts:
        return float(np.median(samples_ts))
    m = _ISO_RE.search(path.name)
    if m:
        return datetime.strptime(m[1] + m[2], "%Y%m%d%H%M%S").replace(tzinfo=UTC).timestamp()
    m = _EPOCH_RE.search(path.name)
    if m:
        return float(m[1]) + (float("0." + m[2]) if m[2] else 0.0)
    return path.stat().st_mtime


def scrape_files(folder: str | Path) -> list[Path]:
    d = Path(folder)
    if not d.is_dir():
        raise TelemetryError(f"{d}: not a folder of saved scrapes")
    files = sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() in ("", ".prom", ".txt", ".metrics"))
    if not files:
        raise TelemetryError(f"{d}: no scrape files (*.prom, *.txt, *.metrics)")
    return files


_DCGM_NAMES = "|".join(re.escape(n.removeprefix("DCGM_FI_DEV_")) for n in METRICS)
# one sample line of a wanted family: series text (name and labels, to the last "}"), value, optional stamp.
# Each pattern starts with a literal ("\nDCGM_FI_DEV_"), which the regex engine finds by a fast scan.
_LINE_RES = (
    re.compile(rf"\n(DCGM_FI_DEV_(?:{_DCGM_NAMES})(?:{{[^\n]*}})?)[ \t]+(\S+)(?:[ \t]+(\S+))?[ \t]*(?=\r?\n|$)"),
    re.compile(rf"\n({SIM_TIME_METRIC}(?:{{[^\n]*}})?)[ \t]+(\S+)(?:[ \t]+(\S+))?[ \t]*(?=\r?\n|$)"),
)
_START_RE = re.compile(rf"^(?:{'|'.join(_WANTED)})[{{ \t]")


def load_scrape_folder(folder: str | Path, topo: Topology, host_map: HostMap | None = None,
                       progress: Callable[[float], None] | None = None,
                       cancelled: Callable[[], bool] | None = None) -> GpuRecording:
    """Each file is one scrape of the exporter (``curl host:9400/metrics > t1733050000.prom``). Its time is
    the samples' own timestamp if they carry one, else a Unix time or ``YYYYmmddTHHMMSSZ`` in the file
    name, else the file's modification time.

    Every distinct series (name and labels) is parsed by prometheus-client's parser the first time it is
    seen; the same series in later scrapes reuses those labels, and only its number is read (the parser
    walks labels character by character, ~150 us a sample: an hour of a 512-GPU hall would take over a
    minute). Only the families the app reads are looked at; the exporter writes dozens."""
    hm = host_map or HostMap(topo)
    files = scrape_files(folder)
    codes = {name: i for i, name in enumerate(_FIELD)} | {SIM_TIME_METRIC: len(_FIELD)}
    sid: dict[str, int] = {}
    s_code: list[int] = []
    s_gpu: list[int] = []
    unmapped: dict[str, None] = {}
    owners = _Owners(topo)
    per_file: list[tuple[float, np.ndarray, np.ndarray]] = []

    def register(p: Path, key: str, value: str) -> None:
        from prometheus_client.parser import text_string_to_metric_families
        try:
            sample = next(x for fam in text_string_to_metric_families(f"{key} {value}\n") for x in fam.samples)
        except (ValueError, StopIteration) as e:
            raise TelemetryError(f"{p}: {key[:120]}: not Prometheus text format ({e or 'no sample'})") from None
        gpu = hm.gpu_index(sample.labels)
        code = codes.get(sample.name, -1)
        if gpu is None and 0 <= code < len(_FIELD) and len(unmapped) < 10_000:
            unmapped[_series_name(sample.labels)] = None
        elif gpu is not None and 0 <= code < len(_FIELD):
            owners.see(sample.name, gpu, sample.labels)
        sid[key] = len(s_code)
        s_code.append(code)
        s_gpu.append(-1 if gpu is None else gpu)

    for i, p in enumerate(files):
        if cancelled is not None and cancelled():
            raise Cancelled()
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise TelemetryError(f"{p}: cannot read ({e})") from None
        text = "\n" + text
        found = [m for r in _LINE_RES for m in r.findall(text)]
        if len(found) != sum(text.count(f"\n{n}{c}") for n in _WANTED for c in "{ \t"):
            _report_bad_line(p, text[1:])
        for key, value, _ in found:
            if key not in sid:
                register(p, key, value)
        ids = np.fromiter((sid[k] for k, _, _ in found), np.int64, len(found))
        try:
            vals = np.fromiter((float(v) for _, v, _ in found), np.float64, len(found))
            stamps = [float(t) / 1000.0 for _, _, t in found if t]
        except ValueError as e:
            raise TelemetryError(f"{p}: not Prometheus text format ({e})") from None
        per_file.append((_file_time(p, stamps), ids, vals))
        if progress is not None:
            progress(0.95 * (i + 1) / len(files))
    per_file.sort(key=lambda x: x[0])
    b = _Builder(np.array([t for t, _, _ in per_file]), topo.n_gpus)
    code_of, gpu_of = np.array(s_code, dtype=np.int64), np.array(s_gpu, dtype=np.int64)
    fields = list(_FIELD.values())
    sim_t = np.full(len(per_file), np.nan)
    for row, (_, ids, vals) in enumerate(per_file):
        c, g = code_of[ids], gpu_of[ids]
        for j, f in enumerate(fields):
            m = (c == j) & (g >= 0)
            b.arrays[f][row, g[m]] = vals[m]
        st = vals[c == len(fields)]
        if st.size:
            sim_t[row] = st[0]
    if np.isfinite(sim_t).any():
        b.extra[SIM_TIME_METRIC] = sim_t
    b.unmapped = unmapped
    b.owners = owners
    if progress is not None:
        progress(1.0)
    return b.recording(str(folder))


def _report_bad_line(p: Path, text: str) -> None:
    """A line of a wanted family that is not a sample line: name it (with the parser's own words)."""
    from prometheus_client.parser import text_string_to_metric_families
    for n, line in enumerate(text.splitlines(), 1):
        if _START_RE.match(line) and not any(r.match("\n" + line) for r in _LINE_RES):
            try:
                for fam in text_string_to_metric_families(line + "\n"):
                    list(fam.samples)
                msg = "unexpected layout"
            except ValueError as e:
                msg = str(e) or "unreadable"
            raise TelemetryError(f"{p}: line {n}: not Prometheus text format ({msg})")


# ====================================================================== Prometheus query_range
_VALUES_RE = re.compile(rb'"values"\s*:\s*\[')
_CLOSE_RE = re.compile(rb"\]\s*\]")
_DROP = b'[]" \t\r\n'


def decode_matrix(body: bytes) -> list[tuple[dict, np.ndarray, np.ndarray]]:
    """A ``query_range`` response -> [(labels, timestamps, values)]. The sample arrays are cut out of the
    bytes and read straight into numpy (``[[t,"v"],...]`` is a flat list of numbers once brackets and
    quotes go), never as millions of small Python lists; only the small rest (labels, status) goes
    through ``json``."""
    spans, pos, rest = [], 0, []
    for m in _VALUES_RE.finditer(body):
        start = m.end()  # just after the outer "["
        if body[start:start + 64].lstrip().startswith(b"]"):  # an empty series
            close = body.index(b"]", start)
            spans.append((start, start))
        else:
            mc = _CLOSE_RE.search(body, start)
            if mc is None:
                raise TelemetryError("query_range response: unterminated values array")
            close = mc.end() - 1  # the outer "]"
            spans.append((start, close))
        rest += [body[pos:start], b"]"]
        pos = close + 1
    rest.append(body[pos:])
    try:
        doc = json.loads(b"".join(rest))
    except ValueError as e:
        raise TelemetryError(f"query_range response is not JSON ({e})") from None
    if doc.get("status") != "success":
        raise TelemetryError(f"Prometheus: {doc.get('errorType', 'error')}: {doc.get('error', doc.get('status'))}")
    data = doc.get("data") or {}
    if data.get("resultType") != "matrix":
        raise TelemetryError(f"query_range response: resultType {data.get('resultType')!r}, expected 'matrix'")
    result = data.get("result") or []
    if len(result) != len(spans):
        raise TelemetryError(f"query_range response: {len(result)} series but {len(spans)} value arrays")
    out = []
    for series, (s, e) in zip(result, spans, strict=True):
        nums = np.empty(0)
        if e > s:
            parts = body[s:e].translate(None, _DROP).split(b",")
            try:  # Python's float() on bytes is the fastest exact reader here (NaN, +Inf included)
                nums = np.fromiter(map(float, parts), np.float64, count=len(parts))
            except ValueError:
                nums = np.empty(1)
        if nums.size % 2:
            raise TelemetryError(f"query_range response: series {series.get('metric')}: unreadable sample values")
        pairs = nums.reshape(-1, 2)
        out.append((series.get("metric") or {}, pairs[:, 0].copy(), pairs[:, 1].copy()))
    return out


def query_chunks(start_s: float, end_s: float, step_s: float,
                 max_points: int = MAX_POINTS_PER_QUERY) -> list[tuple[float, float]]:
    """[start, end] cut into windows of at most ``max_points`` evaluation times each, without overlap."""
    if not (step_s > 0 and end_s >= start_s):
        raise TelemetryError(f"time range {start_s}..{end_s} with step {step_s} s is empty or reversed")
    n = int(math.floor((end_s - start_s) / step_s + 1e-9)) + 1
    out = []
    for i in range(0, n, max_points):
        j = min(i + max_points, n) - 1
        out.append((start_s + i * step_s, start_s + j * step_s))
    return out


def check_url(url: str) -> str:
    """A Prometheus base URL (http or https, with a host); the trailing slash dropped."""
    from urllib.parse import urlparse
    u = urlparse(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise TelemetryError(f"--prometheus {url}: expected http://HOST:PORT")
    return url.rstrip("/")


def fetch_prometheus(url: str, start_s: float, end_s: float, step_s: float, topo: Topology,
                     host_map: HostMap | None = None, metrics: tuple[str, ...] = (*METRICS, SIM_TIME_METRIC),
                     progress: Callable[[float], None] | None = None,
                     cancelled: Callable[[], bool] | None = None, timeout_s: float = 60.0,
                     session=None, max_points: int = MAX_POINTS_PER_QUERY, match: str = "") -> GpuRecording:
    """query_range for each metric over [start, end] at ``step_s``, in chunks under the server's
    points-per-series limit. Evaluation times with no sample (the series was absent or stale) stay NaN.
    ``match``: label matchers added to every query (``job="dcgm"``) when several jobs carry the metrics."""
    import requests
    base = check_url(url)
    hm = host_map or HostMap(topo)
    chunks = query_chunks(start_s, end_s, step_s, max_points)
    n = int(round((chunks[-1][1] - start_s) / step_s)) + 1
    b = _Builder(start_s + step_s * np.arange(n), topo.n_gpus)
    b.owners = _Owners(topo)
    own = session is None
    sess = session or requests.Session()
    total, done = len(chunks) * len(metrics), 0
    try:
        for metric in metrics:
            for c0, c1 in chunks:
                if cancelled is not None and cancelled():
                    raise Cancelled()
                try:
                    r = sess.get(f"{base}/api/v1/query_range", timeout=timeout_s,
                                 params={"query": f"{metric}{{{match}}}" if match else metric, "start": f"{c0:.3f}", "end": f"{c1:.3f}",
                                         "step": f"{step_s:g}"})
                except requests.RequestException as e:
                    raise TelemetryError(f"{base}: {type(e).__name__}: {str(e).splitlines()[0][:200]}") from None
                if r.status_code != 200:
                    try:
                        msg = r.json().get("error", r.text[:200])
                    except ValueError:
                        msg = r.text[:200]
                    raise TelemetryError(f"{base}: query_range {metric}: HTTP {r.status_code}: {msg}")
                for labels, ts, vals in decode_matrix(r.content):
                    rows = np.rint((ts - start_s) / step_s).astype(np.int64)
                    ok = (rows >= 0) & (rows < n)
                    b.put(metric, hm.gpu_index(labels), labels, rows[ok], vals[ok])
                done += 1
                if progress is not None:
                    progress(done / total)
    finally:
        if own:
            sess.close()
    return b.recording(f"{base} {datetime.fromtimestamp(start_s, UTC):%Y-%m-%d %H:%M:%S}Z + {end_s - start_s:g} s")


def parse_time(text: str, now_s: float | None = None) -> float:
    """Unix seconds, an ISO 8601 time (UTC unless it says otherwise), or ``now`` / ``now-15m``."""
    s = text.strip()
    m = re.fullmatch(r"now(?:-(\d+(?:\.\d+)?)(s|m|h|d))?", s)
    if m:
        import time
        base = time.time() if now_s is None else now_s
        return base - (float(m[1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m[2]] if m[1] else 0.0)
    try:
        return float(s)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise TelemetryError(f"{text!r} is not a time (Unix seconds, 2026-12-01T18:00:00Z, now, now-1h)") from None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
