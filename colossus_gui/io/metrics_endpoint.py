"""A Prometheus endpoint for a running simulation, in dcgm-exporter's metric names and labels.

Per GPU: ``DCGM_FI_DEV_GPU_TEMP`` (C), ``DCGM_FI_DEV_POWER_USAGE`` (W), ``DCGM_FI_DEV_XID_ERRORS`` (the last
XID: 79 "fallen off the bus" for a failed GPU, 48 "double-bit ECC" for an HBM failure, 0 otherwise),
``DCGM_FI_DEV_ROW_REMAP_FAILURE`` (1 after an HBM failure), ``DCGM_FI_DEV_SM_CLOCK`` (MHz), each labelled
``gpu``, ``UUID``, ``pci_bus_id``, ``device``, ``modelName``, ``Hostname`` as the exporter labels them; the
host name is the tray address (``H1-R001-T1``), so the app's own ``telemetry`` command maps it back without
a map file. Facility: ``colossus_power_watts{kind}``, ``colossus_megapack_soc_ratio``,
``colossus_water_temperature_celsius{loop,side}``, ``colossus_pue_ratio``, ``colossus_goodput_ratio``,
``colossus_gpus_in_service``, ``colossus_sim_time_seconds`` (to line a scrape up with simulated time).

The engine is stepped on one thread and scraped on another: ``publish()`` (called by the stepping thread
between steps) copies what the collector reads under a lock, so a scrape never sees half a step.
Off by default; bound to 127.0.0.1 only.
"""

from __future__ import annotations

import threading
import uuid

import numpy as np

MODEL_NAMES = {"H100": "NVIDIA H100 80GB HBM3", "H200": "NVIDIA H200", "B200": "NVIDIA B200",
               "GB200": "NVIDIA GB200"}
SM_CLOCK_MAX_MHZ = 1980.0
DCGM_LABELS = ("gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname")


class MetricsError(RuntimeError):
    """The endpoint could not start (port taken, not allowed)."""


class EngineMetrics:
    """prometheus-client collector over an engine. Call ``publish()`` from the thread that steps it."""

    def __init__(self, engine):
        self.engine = engine
        topo = engine.topo
        self._lock = threading.Lock()
        self._snap: dict | None = None
        self._event_cursor = 0
        self._hbm = np.zeros(engine.n_gpus, dtype=bool)
        gpt = topo.gpus_per_tray
        model = [MODEL_NAMES.get(m, f"NVIDIA {m}") for m in topo.hall_gpu_model]
        rack_of_gpu = np.arange(engine.n_gpus) // topo.gpus_per_rack
        hall_of_gpu = topo.rack_hall[rack_of_gpu]
        ns = uuid.UUID("6f1b3a52-5a4e-4f0e-9a57-c0105505c0de")
        fac_name = engine.facility.name
        # label tuples are made once: a scrape is then one list comprehension per metric
        self._labels = [
            (str(i % gpt), f"GPU-{uuid.uuid5(ns, f'{fac_name}/{topo.gpu_address(i)}')}",
             f"00000000:{0x18 + 0x10 * (i % gpt):02X}:00.0", f"nvidia{i % gpt}", model[hall_of_gpu[i]],
             topo.tray_address(i // gpt))
            for i in range(engine.n_gpus)]
        self.publish()

    def publish(self) -> None:
        e = self.engine
        events = e.events
        if self._event_cursor > len(events):
            self._event_cursor = 0
            self._hbm[:] = False
        for ev in events[self._event_cursor:]:
            if ev.kind == "fault_started" and ev.detail.startswith("hbm_failure"):
                try:
                    a = e.topo.parse(ev.address)
                except ValueError:
                    continue
                if a.kind == "gpu":
                    self._hbm[a.index] = True
            elif ev.kind == "fault_cleared" and "-T" in ev.address:
                try:
                    a = e.topo.parse(ev.address)
                except ValueError:
                    continue
                lo = {"gpu": a.index, "tray": a.index * e.topo.gpus_per_tray}.get(a.kind)
                if a.kind == "rack":
                    lo = a.index * e.topo.gpus_per_rack
                if lo is not None:
                    n = {"gpu": 1, "tray": e.topo.gpus_per_tray, "rack": e.topo.gpus_per_rack}[a.kind]
                    self._hbm[lo:lo + n] = False
        self._event_cursor = len(events)
        failed = ~e.gpu_ok.ravel()
        self._hbm &= failed
        snap = {
            "t": float(e.t),
            "temp": e.tj.ravel().copy(),
            "power": e.gpu_power_w.ravel().copy(),
            "clock": (e.gpu_clock.ravel() * SM_CLOCK_MAX_MHZ).astype(np.float64),
            "xid": np.where(self._hbm, 48.0, np.where(failed, 79.0, 0.0)),
            "remap": self._hbm.astype(np.float64),
            "latest": e.telemetry.latest(),
        }
        with self._lock:
            self._snap = snap

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily
        with self._lock:
            s = self._snap
        if s is None:
            return
        labels = self._labels
        for name, key, doc in (
                ("DCGM_FI_DEV_GPU_TEMP", "temp", "GPU temperature (in C)."),
                ("DCGM_FI_DEV_POWER_USAGE", "power", "Power draw (in W)."),
                ("DCGM_FI_DEV_SM_CLOCK", "clock", "SM clock frequency (in MHz)."),
                ("DCGM_FI_DEV_XID_ERRORS", "xid", "Value of the last XID error encountered."),
                ("DCGM_FI_DEV_ROW_REMAP_FAILURE", "remap", "Whether remapping of rows has failed.")):
            g = GaugeMetricFamily(name, doc, labels=DCGM_LABELS)
            vals = s[key].tolist()
            for lab, v in zip(labels, vals, strict=True):
                g.add_metric(lab, v)
            yield g
        lt = s["latest"]

        def gauge(name, doc, value, unit_labels=(), rows=()):
            g = GaugeMetricFamily(name, doc, labels=list(unit_labels))
            if rows:
                for lab, v in rows:
                    if v is not None and np.isfinite(v):
                        g.add_metric(lab, v)
            elif value is not None and np.isfinite(value):
                g.add_metric([], value)
            return g

        yield gauge("colossus_sim_time_seconds", "Simulated time of this sample (s since the run started).", s["t"])
        mw = {"it": "it_mw", "cooling": "cooling_mw", "facility": "facility_mw", "grid": "grid_mw",
              "battery": "battery_mw", "turbine": "turbine_mw"}
        yield gauge("colossus_power_watts", "Facility power by kind (W); battery > 0 discharging.", None, ("kind",),
                    [([k], lt.get(c, np.nan) * 1e6) for k, c in mw.items()])
        yield gauge("colossus_megapack_soc_ratio", "Megapack state of charge (0-1).", lt.get("soc"))
        yield gauge("colossus_water_temperature_celsius", "Water temperatures (C).", None, ("loop", "side"),
                    [(["facility", "supply"], lt.get("supply_c")), (["facility", "return"], lt.get("return_c")),
                     (["rack", "hottest_return"], lt.get("hottest_return_c"))])
        yield gauge("colossus_pue_ratio", "Power usage effectiveness.", lt.get("pue"))
        yield gauge("colossus_goodput_ratio", "Useful GPU time over capacity so far (0-1).", lt.get("goodput"))
        yield gauge("colossus_gpus_in_service", "GPUs in the job pool.", lt.get("gpus_in_service"))


class MetricsServer:
    """prometheus-client's HTTP server on 127.0.0.1:PORT with its own registry; ``close()`` stops it."""

    def __init__(self, engine, port: int):
        from prometheus_client import CollectorRegistry, start_http_server
        if not 0 <= int(port) <= 65535:
            raise MetricsError(f"--metrics-port {port}: must be 1-65535 (0: any free port)")
        self.metrics = EngineMetrics(engine)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.metrics)
        try:
            self._server, self._thread = start_http_server(int(port), addr="127.0.0.1", registry=self.registry)
        except OSError as e:
            raise MetricsError(f"--metrics-port {port}: cannot listen on 127.0.0.1:{port} ({e.strerror or e})") from None
        self.port = int(self._server.server_address[1])

    def publish(self) -> None:
        self.metrics.publish()

    def set_engine(self, engine) -> None:
        """Serve another engine (the GUI opened a new facility)."""
        self.registry.unregister(self.metrics)
        self.metrics = EngineMetrics(engine)
        self.registry.register(self.metrics)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None
