"""A Python object graph as data: a JSON tree plus raw array bytes, read back without running anything.

Made for state the app writes and reads back itself (a run's keyframes beside a session log). Such a file
travels with the log, so reading it must not be able to run code: this is not pickle. Reading only
- builds plain values and containers (dict, list, tuple, set, frozenset, deque, complex, bytes);
- makes objects of the app's own state classes (a class defined in one of ``allowed`` modules that is
  already imported) as an empty instance (``object.__new__``, no ``__init__``) whose ``__dict__`` and
  ``__slots__`` are then filled with data; an enum member is looked up by its class and value;
- makes numpy arrays from their bytes (numeric, bool, text and time dtypes only: no object arrays), numpy
  scalars, and random generators from their bit generator's state (PCG64 and the other numpy ones);
- refers to ``externals``, the objects the caller passes (the writer names them by position), and to
  bound methods of those.
A name outside that, a malformed node, an impossible array or a too deep tree raises ``DataTreeError``.

An object met twice is written once and referred to after (shared references and cycles come back as they
were): the writer numbers objects in the order it meets them, the reader numbers them in the same order.

Layout of ``pack(obj)``: 8 bytes (little-endian) the length of the JSON tree, the tree (ASCII), padding to
a multiple of 16, then the blob area (array and bytes contents, each at a 16-aligned offset named in its node).

Nodes: ``None``/bool/int/float/str as themselves; a JSON object is a dict with text keys; a JSON list is
``[tag, ...]``:
``r`` i (an object met before), ``x`` i (external i), ``L`` items (list), ``T`` items (tuple), ``S``/``F``
items (set/frozenset), ``Q`` maxlen items (deque), ``D`` k v k v... (dict with other keys), ``c`` re im,
``b``/``y`` offset size (bytes/bytearray), ``A`` dtype shape offset order (ndarray), ``n`` dtype hex (numpy
scalar), ``G``/``B`` name state (Generator/bit generator), ``E`` class value (enum member), ``O`` class
dict slots (object), ``K`` class kind names rows (a list of objects of one class: one row of field values
per object, or the number of one met before), ``M`` i name (bound method of external i).
"""

from __future__ import annotations

import enum
import json
import struct
import sys
import types
from collections import deque
from math import prod

import numpy as np

MAX_DEPTH = 100  # nesting of containers and objects (a keyframe's is below 10)
_ALIGN = 16
_DTYPE_KINDS = frozenset("biufcSUMm")  # no object ("O") nor structured/void ("V") arrays
_BIT_GENERATORS = {c.__name__: c for c in (np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937,
                                           np.random.Philox, np.random.SFC64)}


class _SlotProbe:
    __slots__ = ("a",)


_SLOT_DESCRIPTOR = type(_SlotProbe.__dict__["a"])  # member_descriptor: what a __slots__ entry is
_SKIP_SLOTS = frozenset(("__dict__", "__weakref__"))
_LEN = struct.Struct("<Q")
_PLAIN = frozenset((str, int, float, bool, type(None)))  # written and read as themselves
_DTYPES: dict[str, np.dtype] = {}  # dtype text -> checked dtype (reading)


class DataTreeError(ValueError):
    """The object cannot be written as data, or the data is not a tree this module writes."""


def _qualified(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _slot_names(cls: type) -> list[str]:
    """The instance slots of ``cls`` and its bases (mangled names, as the class dicts hold them)."""
    out = []
    for c in cls.__mro__:
        slots = c.__dict__.get("__slots__", ())
        for s in (slots,) if isinstance(slots, str) else slots:
            if s in _SKIP_SLOTS:
                continue
            if s.startswith("__") and not s.endswith("__"):
                s = f"_{c.__name__.lstrip('_')}{s}"
            if isinstance(c.__dict__.get(s), _SLOT_DESCRIPTOR) and s not in out:
                out.append(s)
    return out


def _slot_descriptor(cls: type, name: str):
    for c in cls.__mro__:
        d = c.__dict__.get(name)
        if d is not None:
            return d if isinstance(d, _SLOT_DESCRIPTOR) else None
    return None


def _valid_dtype(spec) -> np.dtype:
    dt = _DTYPES.get(spec) if type(spec) is str else None
    if dt is not None:
        return dt
    if not isinstance(spec, str) or len(spec) > 32:
        raise DataTreeError(f"dtype {spec!r} is not a plain array type")
    try:
        dt = np.dtype(spec)
    except (TypeError, ValueError):
        raise DataTreeError(f"dtype {spec!r} is not an array type") from None
    if dt.kind not in _DTYPE_KINDS or dt.hasobject or dt.fields is not None or dt.subdtype is not None:
        raise DataTreeError(f"dtype {spec!r} is not a plain array type (numbers, bool, text, time only)")
    if len(_DTYPES) < 256:
        _DTYPES[spec] = dt
    return dt


class ClassRegistry:
    """Which classes a tree may name: those defined in a module whose name starts with one of ``allowed``
    (ending a prefix with "." admits a package's modules; without, a module itself and its submodules), and
    only from modules already imported: resolving a name never imports anything."""

    def __init__(self, allowed: tuple[str, ...]):
        self.allowed = tuple(allowed)
        self._cache: dict[str, type] = {}

    def _module_allowed(self, module: str) -> bool:
        return any(module.startswith(p) if p.endswith(".") else (module == p or module.startswith(p + "."))
                   for p in self.allowed)

    def resolve(self, name) -> type:
        cls = self._cache.get(name) if isinstance(name, str) else None
        if cls is not None:
            return cls
        if not isinstance(name, str) or name.count(":") != 1 or len(name) > 300:
            raise DataTreeError(f"class name {str(name)[:80]!r} is malformed")
        module, qualname = name.split(":")
        shown = f"{module}.{qualname}"
        if not self._module_allowed(module):
            raise DataTreeError(f"{shown} is not one of the app's state classes")
        mod = sys.modules.get(module)
        if mod is None:
            raise DataTreeError(f"{shown}: module {module} is not loaded")
        obj = mod
        for part in qualname.split("."):
            if not part.isidentifier() or part.startswith("__"):
                raise DataTreeError(f"{shown} is not one of the app's state classes")
            obj = vars(obj).get(part) if obj is mod or isinstance(obj, type) else None  # a class or a nested one
            if obj is None:
                raise DataTreeError(f"{shown} does not exist")
        if not isinstance(obj, type) or obj.__module__ != module or obj.__qualname__ != qualname:
            raise DataTreeError(f"{shown} is not one of the app's state classes")
        if any("__del__" in c.__dict__ for c in obj.__mro__):  # would run when an object made here is dropped
            raise DataTreeError(f"{shown} has a finalizer: not made from data")
        self._cache[name] = obj
        return obj


# ---------------------------------------------------------------------------------------------- writing
class _Encoder:
    def __init__(self, externals: list, registry: ClassRegistry):
        self.ext = {id(o): i for i, o in enumerate(externals)}
        self.registry = registry
        self.memo: dict[int, int] = {}
        self.keep: list = []  # registered objects stay alive while writing (their ids stay unique)
        self.busy: set[int] = set()  # immutable containers being written (a cycle through one is refused)
        self.blobs: list = []
        self.blob_end = 0
        self.classes: dict[type, str] = {}
        self.row_specs: dict = {}

    def _register(self, o) -> None:
        self.memo[id(o)] = len(self.keep)
        self.keep.append(o)

    def _blob(self, buf) -> int:
        off = self.blob_end
        pad = -off % _ALIGN
        if pad:
            self.blobs.append(b"\0" * pad)
            off += pad
        self.blobs.append(buf)
        self.blob_end = off + memoryview(buf).nbytes
        return off

    def _class(self, cls: type) -> str:
        name = self.classes.get(cls)
        if name is None:
            name = _qualified(cls)
            try:
                ok = self.registry.resolve(name) is cls
            except DataTreeError:
                ok = False
            if not ok:
                raise DataTreeError(f"cannot write an object of {cls.__module__}.{cls.__qualname__} "
                                    "(not one of the app's state classes)")
            self.classes[cls] = name
        return name

    def enc(self, o, depth: int = 0):  # noqa: C901 (one dispatch on the type)
        t = type(o)
        if t in _PLAIN:
            return o
        i = id(o)
        x = self.ext.get(i)
        if x is not None:
            return ["x", x]
        m = self.memo.get(i)
        if m is not None:
            return ["r", m]
        if depth > MAX_DEPTH:
            raise DataTreeError(f"nested deeper than {MAX_DEPTH} levels")
        d = depth + 1
        enc = self.enc
        if t is dict:
            self._register(o)
            if all(type(k) is str for k in o):
                return {k: v if type(v) in _PLAIN else enc(v, d) for k, v in o.items()}
            out = ["D"]
            for k, v in o.items():
                out.append(enc(k, d))
                out.append(enc(v, d))
            return out
        if t is list:
            self._register(o)
            if len(o) >= 4 and type(o[0]) not in _PLAIN:
                rows = self._rows(o, d)
                if rows is not None:
                    return rows
            return ["L", *[v if type(v) in _PLAIN else enc(v, d) for v in o]]
        if t is np.ndarray:
            return self._array(o)
        if t is tuple or t is frozenset:
            if i in self.busy:
                raise DataTreeError(f"a {t.__name__} that contains itself")
            self.busy.add(i)
            out = ["T" if t is tuple else "F", *[enc(v, d) for v in o]]
            self.busy.discard(i)
            self._register(o)
            return out
        if t is set:
            self._register(o)
            return ["S", *[enc(v, d) for v in o]]
        if t is deque:
            self._register(o)
            return ["Q", o.maxlen, *[enc(v, d) for v in o]]
        if isinstance(o, enum.Enum):
            out = ["E", self._class(t), enc(o.value, d)]
            self._register(o)  # after its value, as the reader makes it
            return out
        if isinstance(o, np.generic):
            if o.dtype.hasobject or o.dtype.kind not in _DTYPE_KINDS:
                raise DataTreeError(f"cannot write a numpy scalar of dtype {o.dtype}")
            self._register(o)
            return ["n", o.dtype.str, o.tobytes().hex()]
        if t is np.random.Generator or isinstance(o, np.random.BitGenerator):
            bg = o.bit_generator if t is np.random.Generator else o
            name = type(bg).__name__
            if _BIT_GENERATORS.get(name) is not type(bg):
                raise DataTreeError(f"cannot write a random generator of {name}")
            out = ["G" if t is np.random.Generator else "B", name, enc(bg.state, d)]
            self._register(o)
            return out
        if t is complex:
            self._register(o)
            return ["c", o.real, o.imag]
        if t is bytes or t is bytearray:
            self._register(o)
            return ["b" if t is bytes else "y", self._blob(bytes(o)), len(o)]
        if t is types.MethodType:
            x = self.ext.get(id(o.__self__))
            name = o.__func__.__name__
            if x is None or _method_function(type(o.__self__), name, self.registry) is not o.__func__:
                raise DataTreeError(f"cannot write the method {o.__qualname__} (only methods of the objects "
                                    "the writer is given are kept)")
            self._register(o)
            return ["M", x, name]
        if hasattr(o, "__dict__") or _slot_names(t):
            return self._object(o, t, d)
        raise DataTreeError(f"cannot write an object of {t.__module__}.{t.__qualname__}")

    def _array(self, a: np.ndarray):
        if a.dtype.hasobject or a.dtype.kind not in _DTYPE_KINDS or a.dtype.fields is not None \
                or a.dtype.subdtype is not None:
            raise DataTreeError(f"cannot write an array of dtype {a.dtype} (numbers, bool, text, time only)")
        self._register(a)
        if a.flags.f_contiguous and not a.flags.c_contiguous:  # kept in its order (sums stay bit-identical)
            buf, order = a.T, "F"
        else:
            buf, order = np.ascontiguousarray(a), "C"
        return ["A", a.dtype.str, list(a.shape), self._blob(buf.reshape(-1).view(np.uint8) if buf.size else b""),
                order]

    def _row_spec(self, t: type, sample):
        """("d", None) for a state class whose objects keep their fields in a __dict__ only, ("s", slots) for
        one with slots only; None for anything else (written object by object)."""
        spec = self.row_specs.get(t, False)
        if spec is False:
            spec = None
            if not issubclass(t, (enum.Enum, np.generic)) and t.__new__ is object.__new__:
                try:
                    self._class(t)
                except DataTreeError:
                    pass
                else:
                    slots, has_dict = _slot_names(t), hasattr(sample, "__dict__")
                    spec = ("d", None) if has_dict and not slots else ("s", slots) if slots and not has_dict else None
            self.row_specs[t] = spec
        return spec

    def _rows(self, o: list, d: int):
        """A list of objects of one state class with the same fields, as a table: the class and the field names
        once, which entries are new objects (None) or objects met before (their number), then one column of
        values per field for the new objects, led by 0 when all are plain values (read as they are) or 1."""
        t = type(o[0])
        ext = self.ext
        for v in o:
            if type(v) is not t or id(v) in ext:
                return None
        spec = self._row_spec(t, o[0])
        if spec is None:
            return None
        kind, slots = spec
        if kind == "d":
            keys = tuple(vars(o[0]))
            if not all(type(k) is str for k in keys) or not all(tuple(vars(v)) == keys for v in o):
                return None
        else:
            keys = tuple(slots)
            desc = [_slot_descriptor(t, k) for k in keys]
            try:
                for v in o:
                    for g in desc:
                        g.__get__(v, t)
            except AttributeError:  # a slot never set
                return None
        memo = self.memo
        entries, new = [], []
        for v in o:
            m = memo.get(id(v))
            if m is None:
                self._register(v)
                new.append(v)
            entries.append(m)
        out = ["K", self._class(t), kind, list(keys), entries]
        enc = self.enc
        for j, k in enumerate(keys):
            col = [vars(v)[k] for v in new] if kind == "d" else [desc[j].__get__(v, t) for v in new]
            if all(type(x) in _PLAIN for x in col):
                out.append([0, *col])
            else:
                out.append([1, *[x if type(x) in _PLAIN else enc(x, d) for x in col]])
        return out

    def _object(self, o, t: type, d: int):
        name = self._class(t)
        if t.__new__ is not object.__new__:
            raise DataTreeError(f"cannot write an object of {t.__module__}.{t.__qualname__} (own __new__)")
        self._register(o)
        state = None
        od = vars(o) if hasattr(o, "__dict__") else None
        if od is not None:
            if not all(type(k) is str for k in od):
                raise DataTreeError(f"an object of {name} with attribute names that are not text")
            enc = self.enc
            state = {k: v if type(v) in _PLAIN else enc(v, d) for k, v in od.items()}
        slots = None
        for s in _slot_names(t):
            desc = _slot_descriptor(t, s)
            try:
                v = desc.__get__(o, t)
            except AttributeError:  # never set
                continue
            if slots is None:
                slots = {}
            slots[s] = self.enc(v, d)
        return ["O", name, state, slots]


def _method_function(cls: type, name: str, registry: ClassRegistry):
    """The plain function ``name`` of ``cls`` (looked up in the class dicts, nothing called), if ``cls`` is
    one of the app's classes and the function is defined in one of its modules; else None."""
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("__"):
        return None
    for c in cls.__mro__:
        f = c.__dict__.get(name)
        if f is not None:
            if type(f) is types.FunctionType and registry._module_allowed(getattr(f, "__module__", "") or ""):
                return f
            return None
    return None


def pack(obj, externals: list, allowed: tuple[str, ...] | ClassRegistry) -> list:
    """``obj`` as a list of buffers to write one after the other (their total length is ``packed_size``).
    DataTreeError when part of it cannot be written as data."""
    registry = allowed if isinstance(allowed, ClassRegistry) else ClassRegistry(allowed)
    e = _Encoder(externals, registry)
    try:
        tree = e.enc(obj)
    except RecursionError:
        raise DataTreeError(f"nested deeper than {MAX_DEPTH} levels") from None
    text = json.dumps(tree, separators=(",", ":"), check_circular=False).encode("ascii")
    head = _LEN.pack(len(text)) + text
    head += b"\0" * (-len(head) % _ALIGN)
    return [head, *e.blobs]


def packed_size(parts: list) -> int:
    return sum(memoryview(p).nbytes for p in parts)


# ---------------------------------------------------------------------------------------------- reading
class _Decoder:
    def __init__(self, blob: memoryview, externals: list, registry: ClassRegistry, copy: bool = True):
        self.blob = blob
        self.copy = copy
        self.ext = externals
        self.registry = registry
        self.memo: list = []
        self.tags = {"r": self._ref, "x": self._ext, "L": self._list, "T": self._tuple, "F": self._frozenset,
                     "S": self._set, "Q": self._deque, "D": self._dict, "A": self._array, "n": self._scalar,
                     "G": self._generator, "B": self._generator, "E": self._enum, "c": self._complex,
                     "b": self._bytes, "y": self._bytes, "M": self._method, "O": self._object,
                     "K": self._rows}

    def dec(self, n, depth: int = 0):
        t = type(n)
        if t in _PLAIN:
            return n
        if depth > MAX_DEPTH:
            raise DataTreeError(f"nested deeper than {MAX_DEPTH} levels")
        if t is dict:
            out = {}
            self.memo.append(out)
            dec, d = self.dec, depth + 1
            for k, v in n.items():
                out[k] = v if type(v) in _PLAIN else dec(v, d)
            return out
        if t is not list or not n or type(n[0]) is not str:
            raise DataTreeError(f"malformed node {str(n)[:60]}")
        fn = self.tags.get(n[0])
        if fn is None:
            raise DataTreeError(f"unknown node {n[0][:20]!r}")
        return fn(n, depth + 1)

    @staticmethod
    def _index(v, n: int, what: str) -> int:
        if type(v) is not int or not 0 <= v < n:
            raise DataTreeError(f"{what} {str(v)[:20]} out of range")
        return v

    def _ref(self, n, d):
        if len(n) != 2:
            raise DataTreeError("malformed reference")
        return self.memo[self._index(n[1], len(self.memo), "reference")]

    def _ext(self, n, d):
        if len(n) != 2:
            raise DataTreeError("malformed reference")
        return self.ext[self._index(n[1], len(self.ext), "external reference")]

    def _list(self, n, d):
        out = []
        self.memo.append(out)
        dec = self.dec
        out.extend([v if type(v) in _PLAIN else dec(v, d) for v in n[1:]])
        return out

    def _tuple(self, n, d):
        dec = self.dec
        out = tuple([dec(v, d) for v in n[1:]])
        self.memo.append(out)
        return out

    def _frozenset(self, n, d):
        dec = self.dec
        out = frozenset([dec(v, d) for v in n[1:]])
        self.memo.append(out)
        return out

    def _set(self, n, d):
        out = set()
        self.memo.append(out)
        dec = self.dec
        for v in n[1:]:
            out.add(dec(v, d))
        return out

    def _deque(self, n, d):
        if len(n) < 2 or not (n[1] is None or (type(n[1]) is int and n[1] >= 0)):
            raise DataTreeError("malformed deque")
        out = deque(maxlen=n[1])
        self.memo.append(out)
        dec = self.dec
        out.extend([dec(v, d) for v in n[2:]])
        return out

    def _dict(self, n, d):
        if len(n) % 2 != 1:
            raise DataTreeError("malformed dict")
        out = {}
        self.memo.append(out)
        dec = self.dec
        for j in range(1, len(n), 2):
            k = dec(n[j], d)
            out[k] = dec(n[j + 1], d)
        return out

    def _span(self, off, size) -> memoryview:
        if type(off) is not int or type(size) is not int or off < 0 or size < 0 or off + size > len(self.blob):
            raise DataTreeError(f"data at {str(off)[:20]}+{str(size)[:20]} outside the file's data")
        return self.blob[off:off + size]

    def _array(self, n, d):
        if len(n) != 5 or type(n[2]) is not list or len(n[2]) > 32 or n[4] not in ("C", "F"):
            raise DataTreeError("malformed array")
        dt = _DTYPES.get(n[1]) or _valid_dtype(n[1])
        shape, off = n[2], n[3]
        for s in shape:
            if type(s) is not int or s < 0:
                raise DataTreeError(f"array shape {str(shape)[:60]} is not a shape")
        count = prod(shape)
        size = count * dt.itemsize
        if type(off) is not int or off < 0 or off + size > len(self.blob):
            raise DataTreeError(f"data at {str(off)[:20]}+{size} outside the file's data")
        a = np.frombuffer(self.blob, dtype=dt, count=count, offset=off)
        a = a.reshape(shape[::-1]).T if n[4] == "F" else a.reshape(shape)
        if self.copy:
            a = a.copy(order="K")
        self.memo.append(a)
        return a

    def _scalar(self, n, d):
        if len(n) != 3 or type(n[2]) is not str or len(n[2]) > 128:
            raise DataTreeError("malformed numpy scalar")
        dt = _valid_dtype(n[1])
        try:
            raw = bytes.fromhex(n[2])
        except ValueError:
            raise DataTreeError("malformed numpy scalar") from None
        if len(raw) != dt.itemsize:
            raise DataTreeError("malformed numpy scalar")
        out = np.frombuffer(raw, dtype=dt)[0]
        self.memo.append(out)
        return out

    def _generator(self, n, d):
        if len(n) != 3 or n[1] not in _BIT_GENERATORS:
            raise DataTreeError(f"random generator {str(n[1:2])[:40]} is not one numpy has")
        state = self.dec(n[2], d)
        if not isinstance(state, dict) or state.get("bit_generator") != n[1]:
            raise DataTreeError("malformed random generator state")
        bg = _BIT_GENERATORS[n[1]](0)
        bg.state = state  # numpy checks the state's fields and types
        out = np.random.Generator(bg) if n[0] == "G" else bg
        self.memo.append(out)
        return out

    def _enum(self, n, d):
        if len(n) != 3:
            raise DataTreeError("malformed enum member")
        cls = self.registry.resolve(n[1])
        if not issubclass(cls, enum.Enum):
            raise DataTreeError(f"{n[1]} is not an enum")
        value = self.dec(n[2], d)
        member = None
        try:
            member = cls._value2member_map_.get(value)
        except TypeError:  # an unhashable value
            pass
        if member is None:
            member = next((m for m in cls.__members__.values() if m.value == value), None)
        if member is None:
            raise DataTreeError(f"{n[1]} has no member {str(value)[:40]!r}")
        self.memo.append(member)
        return member

    def _complex(self, n, d):
        if len(n) != 3 or not all(type(v) in (int, float) for v in n[1:]):
            raise DataTreeError("malformed complex")
        out = complex(n[1], n[2])
        self.memo.append(out)
        return out

    def _bytes(self, n, d):
        if len(n) != 3:
            raise DataTreeError("malformed bytes")
        span = self._span(n[1], n[2])
        out = bytes(span) if n[0] == "b" else bytearray(span)
        self.memo.append(out)
        return out

    def _method(self, n, d):
        if len(n) != 3:
            raise DataTreeError("malformed method")
        obj = self.ext[self._index(n[1], len(self.ext), "external reference")]
        f = _method_function(type(obj), n[2], self.registry)
        if f is None:
            raise DataTreeError(f"{str(n[2])[:40]!r} is not a method of the app's {type(obj).__qualname__}")
        out = types.MethodType(f, obj)
        self.memo.append(out)
        return out

    def _rows(self, n, d):
        if len(n) < 5 or n[2] not in ("d", "s") or type(n[3]) is not list or type(n[4]) is not list \
                or not all(type(k) is str for k in n[3]) or len(n) != 5 + len(n[3]):
            raise DataTreeError("malformed table of objects")
        cls = self._state_class(n[1])
        keys = n[3]
        if n[2] == "s":
            desc = [_slot_descriptor(cls, k) for k in keys]
            if None in desc:
                raise DataTreeError(f"{n[1]} has no slots {str(keys)[:80]}")
        elif not hasattr(object.__new__(cls), "__dict__"):
            raise DataTreeError(f"{n[1]} objects have no attributes of their own")
        out = []
        memo = self.memo
        memo.append(out)
        objs, new = [], object.__new__
        for e in n[4]:
            if e is None:
                obj = new(cls)
                memo.append(obj)
                objs.append(obj)
                out.append(obj)
            else:
                out.append(memo[self._index(e, len(memo), "reference")])
        cols, dec, size = [], self.dec, len(objs) + 1
        for col in n[5:]:
            if type(col) is not list or len(col) != size or col[0] not in (0, 1):
                raise DataTreeError(f"a column of {n[1]} does not have its {size - 1} values")
            cols.append(col[1:] if col[0] == 0 else [v if type(v) in _PLAIN else dec(v, d) for v in col[1:]])
        if not keys:
            return out
        if n[2] == "d":
            for obj, vals in zip(objs, zip(*cols, strict=True), strict=True):
                obj.__dict__.update(zip(keys, vals, strict=True))
        else:
            for g, col in zip(desc, cols, strict=True):
                for obj, v in zip(objs, col, strict=True):
                    g.__set__(obj, v)
        return out

    def _state_class(self, name) -> type:
        cls = self.registry.resolve(name)
        if cls.__new__ is not object.__new__ or issubclass(cls, enum.Enum):
            raise DataTreeError(f"{name} cannot be made from data")
        return cls

    def _object(self, n, d):
        if len(n) != 4 or not (n[2] is None or type(n[2]) is dict) or not (n[3] is None or type(n[3]) is dict):
            raise DataTreeError("malformed object")
        cls = self._state_class(n[1])
        obj = object.__new__(cls)
        self.memo.append(obj)
        dec = self.dec
        if n[2] is not None:
            try:
                od = object.__getattribute__(obj, "__dict__")
            except AttributeError:
                raise DataTreeError(f"{n[1]} objects have no attributes of their own") from None
            for k, v in n[2].items():
                od[k] = v if type(v) in _PLAIN else dec(v, d)
        if n[3] is not None:
            for k, v in n[3].items():
                desc = _slot_descriptor(cls, k)
                if desc is None:
                    raise DataTreeError(f"{n[1]} has no slot {k[:40]!r}")
                desc.__set__(obj, dec(v, d))
        return obj


def unpack(data, externals: list, allowed: tuple[str, ...] | ClassRegistry, copy: bool = True):
    """The object ``pack`` wrote into ``data`` (bytes); DataTreeError (one line) when ``data`` is not that.
    ``copy=False``: arrays are read-only views of ``data`` (to check a part without copying its arrays)."""
    registry = allowed if isinstance(allowed, ClassRegistry) else ClassRegistry(allowed)
    view = memoryview(data).cast("B")
    if len(view) < _LEN.size:
        raise DataTreeError("data ends before its tree")
    (size,) = _LEN.unpack_from(view)
    start = _LEN.size + size
    if size > len(view) - _LEN.size:
        raise DataTreeError(f"tree of {size:,} bytes declared in {len(view):,} bytes of data")
    try:
        tree = json.loads(bytes(view[_LEN.size:start]).decode("ascii"))
        blob = view[start + (-start % _ALIGN):]
        return _Decoder(blob, externals, registry, copy).dec(tree)
    except DataTreeError:
        raise
    except RecursionError:
        raise DataTreeError(f"nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError, UnicodeDecodeError) as e:
        raise DataTreeError(f"malformed data ({type(e).__name__}: {str(e)[:120]})") from None


__all__ = ["MAX_DEPTH", "ClassRegistry", "DataTreeError", "pack", "packed_size", "unpack"]
