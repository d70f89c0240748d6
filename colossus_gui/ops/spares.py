"""Spare parts: stock per part, taken on repair, reordered at the reorder point with a lead time."""

from __future__ import annotations

from dataclasses import dataclass

from ..model.ops_config import PART_NAMES, SparesSpec


@dataclass
class Order:
    id: int
    part: str
    qty: int
    ordered_t: float
    arrive_t: float
    delivered: bool = False

    def to_row(self) -> dict:
        return {"id": self.id, "part": self.part, "qty": self.qty, "ordered_t": self.ordered_t,
                "arrive_t": self.arrive_t, "delivered": self.delivered}


class Spares:
    def __init__(self, spec: SparesSpec):
        self.spec = spec
        self.on_hand: dict[str, int] = {p: getattr(spec, p).stock for p in PART_NAMES}
        self.orders: list[Order] = []
        self._next_order = 1
        self.used: dict[str, int] = dict.fromkeys(PART_NAMES, 0)
        self.stock_outs: dict[str, int] = dict.fromkeys(PART_NAMES, 0)

    def on_order(self, part: str) -> int:
        return sum(o.qty for o in self.orders if o.part == part and not o.delivered)

    def next_arrival(self, part: str) -> float | None:
        ts = [o.arrive_t for o in self.orders if o.part == part and not o.delivered]
        return min(ts) if ts else None

    def available(self, part: str) -> bool:
        return self.on_hand[part] > 0

    def take(self, part: str, t: float) -> list[Order]:
        """Take one part (the caller checked ``available``); returns any order this placed."""
        if self.on_hand[part] <= 0:
            raise ValueError(f"no {part} in stock")
        self.on_hand[part] -= 1
        self.used[part] += 1
        return self.check_reorder(part, t)

    def put_back(self, part: str) -> None:
        self.on_hand[part] += 1
        self.used[part] -= 1

    def check_reorder(self, part: str, t: float, need: int = 0) -> list[Order]:
        """Order ``reorder_qty`` when on hand + on order is at or below the reorder point, or below what
        waiting work orders ``need``."""
        ps = getattr(self.spec, part)
        position = self.on_hand[part] + self.on_order(part)
        if position <= ps.reorder_point or position < need:
            qty = max(ps.reorder_qty, need - position)
            o = Order(self._next_order, part, qty, t, t + ps.lead_time_s)
            self._next_order += 1
            self.orders.append(o)
            return [o]
        return []

    def deliver(self, t: float) -> list[Order]:
        """Orders that arrived by ``t`` go on the shelf."""
        done = []
        for o in self.orders:
            if not o.delivered and o.arrive_t <= t + 1e-9:
                o.delivered = True
                self.on_hand[o.part] += o.qty
                done.append(o)
        if done:
            self.orders = [o for o in self.orders if not o.delivered]
        return done

    def restore(self, stock: dict[str, int], orders: list[dict]) -> None:
        for p, n in stock.items():
            if p in self.on_hand:
                self.on_hand[p] = int(n)
        self.orders = [Order(**{k: o[k] for k in ("id", "part", "qty", "ordered_t", "arrive_t", "delivered")})
                       for o in orders if not o.get("delivered")]
        self._next_order = max([o["id"] for o in orders], default=0) + 1
