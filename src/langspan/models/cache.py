"""A disk cache of converted models (int8, fp16, bf16), so that a model is converted once, not at every start.

Converting mms-lid-256 to int8 reads its 3.7 GB fp32 checkpoint and quantizes 943M weights: 10–14 s on a quiet
2-core machine, most of a short input's run. A cache entry holds the converted tensors; loading one reads them
back and repacks the int8 weights for the CPU's kernels (docs/benchmarks.md has the times).

**Where**: ``$LANGSPAN_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/langspan/models`` (``~/.cache/langspan/models``);
one file per (model, precision), ``NAME-PRECISION-DIGEST.safetensors``.

**Key** (hashed into ``DIGEST``, and stored in the entry and compared when it is read): the model's identity — for
a local folder the name, size and modification time of each file and the SHA-256 of its ``config.json``; for a
hub model the commit of the cached snapshot (a hub model of unknown commit is not cached) — the precision, the
versions of langspan, torch and transformers, torch's quantized engine, and this format's version. Anything that
could change the converted tensors or the modules they are loaded into changes the key.

**Format**: safetensors (no pickle: reading an entry runs no code), int8 weights as their integer values, per-row
scales and zero points; a CRC-32 of every tensor in the header, checked when the entry is read.

**Writing** is atomic and safe with concurrent processes: each writer streams into its own temporary file in the
cache folder, fsyncs it and renames it over the entry (``os.replace``). Two processes converting the same model at
once both write a whole entry and the last rename wins; a reader sees the old entry or the new one, never a mix.

**Failures are never fatal**: an entry that cannot be read, does not match its key or its checksums, or does not
fit the model is reported with a ``CacheWarning``, deleted, and the model is converted again (and re-cached); a
cache that cannot be written (read-only home, full disk) only costs the next run the conversion again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import tempfile
import time
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..durable import fsync_folder
from .cpu_memory import give_back_free_heap
from .quantize import mappings_holding, release_pages

FORMAT = 1
CACHED_PRECISIONS = ("int8", "fp16", "bf16")  # fp32 is the checkpoint itself, already memory-mapped
TRIM_EVERY = 64 << 20  # bytes written between returns of the writer's freed copies to the kernel
ABANDONED_AFTER = 3600  # seconds after which a writer's temporary file is taken as abandoned
KEY_FIELD = "langspan-cache-key"
CHECKSUM_FIELD = "crc32"
# How an int8 Linear layer is stored: its weight's integer values, per-row scales and zero points, and its bias.
INT8_PARTS = ("weight.int8", "weight.scales", "weight.zero_points")
DTYPES = {  # safetensors' names of the dtypes a converted model holds
    "F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64", "I32": "int32",
    "I8": "int8", "U8": "uint8", "BOOL": "bool",
}  # fmt: skip


class CacheWarning(UserWarning):
    """The converted-model cache could not be used (the model is converted instead) or written."""


class NotCacheable(Exception):
    """This model holds something the cache format does not store; it is converted at every load."""


def cache_dir() -> Path:
    explicit = os.environ.get("LANGSPAN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "langspan" / "models"


def model_identity(model: str, commit: str | None) -> dict[str, Any] | None:
    """What identifies the checkpoint's files; None when nothing does (a hub model of unknown commit)."""
    folder = Path(model)
    if folder.is_dir():
        files = sorted((entry.name, entry.stat()) for entry in folder.iterdir() if entry.is_file())
        config = folder / "config.json"
        return {
            "folder": [(name, stat.st_size, stat.st_mtime_ns) for name, stat in files],
            "config_sha256": hashlib.sha256(config.read_bytes()).hexdigest() if config.is_file() else None,
        }
    if commit:
        return {"hub": model, "commit": commit}
    return None


@dataclass(frozen=True)
class CacheEntry:
    path: Path
    key: str
    """The entry's key as canonical JSON: stored in the file and compared when it is read."""

    def load(self, skeleton) -> Any | None:
        """``skeleton`` (a model on the meta device, see ``wav2vec2.skeleton``) with the cached tensors; None when
        there is no entry or it cannot be used (then it is deleted, with a warning)."""
        if not self.path.is_file():
            return None
        try:
            return _fill(skeleton, self.path, self.key)
        except Exception as error:  # noqa: BLE001 - whatever is wrong with an entry, converting again fixes it
            warnings.warn(
                f"langspan: ignoring the unusable cached model {self.path} ({_one_line(error)}); converting again",
                CacheWarning,
                stacklevel=2,
            )
            self.path.unlink(missing_ok=True)
            return None

    def store(self, model) -> bool:
        """Write ``model``'s converted tensors as this entry (atomically); False, with a warning, if it could not."""
        try:
            descriptors = list(_describe(model))
        except NotCacheable:
            return False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            _remove_abandoned_writes(self.path)
            descriptor, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".part")
        except OSError as error:
            return _cannot_write(error)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                _write(handle, model, descriptors, self.key)
                handle.flush()
                os.fsync(handle.fileno())  # the data is on disk before the name points at it
            os.replace(temporary, self.path)  # atomic: readers see the old entry or this one, whole
            fsync_folder(self.path.parent)
            return True
        except (OSError, NotCacheable) as error:
            return _cannot_write(error)
        finally:
            Path(temporary).unlink(missing_ok=True)


def _remove_abandoned_writes(path: Path) -> None:
    """Delete this entry's temporary files left by writers that were killed (an hour old: no writer takes that
    long, so a concurrent one is never touched); each may be a whole model's size."""
    now = time.time()
    for leftover in path.parent.glob(f".{path.name}.*.part"):
        try:
            if now - leftover.stat().st_mtime > ABANDONED_AFTER:
                leftover.unlink()
        except OSError:
            pass


def _cannot_write(error: BaseException) -> bool:
    warnings.warn(f"langspan: cannot write the model cache ({_one_line(error)})", CacheWarning, stacklevel=3)
    return False


def entry_for(model: str, commit: str | None, precision: str) -> CacheEntry | None:
    """The cache entry for ``model`` converted to ``precision``; None when such a model is not cached."""
    import torch
    import transformers

    from .. import __version__

    identity = model_identity(model, commit)
    if identity is None or precision not in CACHED_PRECISIONS:
        return None
    recipe = {
        "format": FORMAT, "model": identity, "precision": precision, "langspan": __version__,
        "torch": torch.__version__, "transformers": transformers.__version__,
        "quantized_engine": torch.backends.quantized.engine,
    }  # fmt: skip
    key = json.dumps(recipe, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(model).name or "model")[-60:]
    return CacheEntry(cache_dir() / f"{name}-{precision}-{digest}.safetensors", key)


# ------------------------------------------------------------------------------------------------------ writing


@dataclass(frozen=True)
class _Tensor:
    name: str
    dtype: str  # safetensors' name
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        import torch

        count = 1
        for size in self.shape:
            count *= size
        return count * torch.empty((), dtype=getattr(torch, DTYPES[self.dtype])).element_size()


def _describe(model) -> Iterator[_Tensor]:
    """Name, dtype and shape of each tensor an entry of ``model`` holds, in order: the header, which comes before
    the data. Costs an unpacking of each int8 layer, one at a time (a bias is only known by unpacking)."""
    for name, tensor in _tensors(model):
        yield _Tensor(name, _dtype_name(tensor), tuple(tensor.shape))


def _tensors(model) -> Iterator[tuple[str, Any]]:
    """(name, tensor) of every tensor of ``model``, int8 layers unpacked one at a time (a layer's integer copy
    exists only while it is written, so storing adds one layer to the memory peak, not the whole model)."""
    import torch
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    for module_name, module in model.named_modules(remove_duplicate=False):
        prefix = f"{module_name}." if module_name else ""
        if isinstance(module, DynamicLinear):
            weight, bias = module._weight_bias()
            if weight.qscheme() != torch.per_channel_affine or weight.q_per_channel_axis() != 0:
                raise NotCacheable(f"{module_name}: int8 weights not quantized per output channel")
            yield f"{prefix}weight.int8", weight.int_repr()
            yield f"{prefix}weight.scales", weight.q_per_channel_scales()
            yield f"{prefix}weight.zero_points", weight.q_per_channel_zero_points()
            if bias is not None:
                yield f"{prefix}bias", bias
            continue
        if _inside_int8_layer(module_name, model):
            continue
        for name, tensor in [*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)]:
            if tensor is not None:
                yield f"{prefix}{name}", tensor.detach()


def _inside_int8_layer(module_name: str, model) -> bool:
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    parent, _, _ = module_name.rpartition(".")
    return bool(module_name) and isinstance(model.get_submodule(parent) if parent else model, DynamicLinear)


def _dtype_name(tensor) -> str:
    names = {value: key for key, value in DTYPES.items()}
    dtype = str(tensor.dtype).removeprefix("torch.")
    if dtype not in names:
        raise NotCacheable(f"tensors of {dtype} are not cached")
    return names[dtype]


def _write(handle, model, descriptors: list[_Tensor], key: str) -> None:
    """A safetensors file: 8-byte header length, JSON header (names, dtypes, shapes, offsets, our metadata), data.

    The header needs every tensor's checksum, which is known only once its bytes are, so the data is written
    first, after room left for the header, and the header last into that room (padded with spaces, as the
    format allows)."""
    header: dict[str, Any] = {}
    offset = 0
    for item in descriptors:
        header[item.name] = {
            "dtype": item.dtype,
            "shape": list(item.shape),
            "data_offsets": [offset, offset + item.nbytes],
        }
        offset += item.nbytes
    checksums = {item.name: 0 for item in descriptors}
    room = len(_header_bytes(header, key, {name: 0xFFFFFFFF for name in checksums}))
    handle.seek(8 + room)
    written = 0
    for (name, tensor), item in zip(_tensors(model), descriptors, strict=True):
        data = _bytes_of(tensor)
        if name != item.name or len(data) != item.nbytes:
            raise NotCacheable(f"{name}: changed while being written")
        checksums[name] = zlib.crc32(data)
        handle.write(data)
        written += len(data)
        del data, tensor
        if written >= TRIM_EVERY:  # each layer's unpacked copy is freed, but glibc would keep up to 512 MB of them
            give_back_free_heap()
            written = 0
    text = _header_bytes(header, key, checksums)
    handle.seek(0)
    handle.write(struct.pack("<Q", room) + text + b" " * (room - len(text)))


def _header_bytes(header: dict, key: str, checksums: dict[str, int]) -> bytes:
    metadata = {KEY_FIELD: key, CHECKSUM_FIELD: json.dumps(checksums, sort_keys=True)}
    return json.dumps({"__metadata__": metadata, **header}, separators=(",", ":")).encode()


def _bytes_of(tensor) -> memoryview:
    import torch

    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    return memoryview(flat.view(torch.uint8).numpy()) if flat.numel() else memoryview(b"")


# ------------------------------------------------------------------------------------------------------ reading


def _fill(skeleton, path: Path, key: str):
    """Give every tensor of ``skeleton`` (on the meta device) its cached value; raises on any mismatch."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        entry = _Entry(handle, key)
        _assign(skeleton, entry)
        unused = set(entry.checksums) - entry.used
        if unused:
            raise ValueError(f"{len(unused)} cached tensors belong to no module of this model")
    leftovers = [name for name, tensor in [*skeleton.named_parameters(), *skeleton.named_buffers()] if tensor.is_meta]
    if leftovers:
        raise ValueError(f"no cached value for {leftovers[0]}")
    return skeleton.eval()


class _Entry:
    """An open entry whose tensors are checked against their checksums as they are read."""

    def __init__(self, handle, key: str) -> None:
        metadata = handle.metadata() or {}
        if metadata.get(KEY_FIELD) != key:
            raise ValueError("its key does not match this model, precision and software")
        self.handle = handle
        self.checksums: dict[str, int] = json.loads(metadata[CHECKSUM_FIELD])
        if set(self.checksums) != set(handle.keys()):
            raise ValueError("its checksums do not cover its tensors")
        self.int8_layers = {
            name.removesuffix(".weight.int8") for name in self.checksums if name.endswith(".weight.int8")
        }
        self.used: set[str] = set()
        self._mappings: list[tuple[int, int]] | None = None

    def mappings(self, tensor) -> list[tuple[int, int]]:
        """The file's mapping (read from /proc once: every tensor of the entry lies in the same one)."""
        if self._mappings is None:
            self._mappings = mappings_holding([tensor])
        return self._mappings

    def __contains__(self, name: str) -> bool:
        return name in self.checksums

    def view(self, name: str):
        """The stored tensor, unchecked: a view of the memory-mapped file (its pages are read when touched)."""
        if name not in self.checksums:
            raise ValueError(f"no cached value for {name}")
        self.used.add(name)
        return self.handle.get_tensor(name)

    def check(self, name: str, tensor):
        """``tensor`` if its bytes match the checksum written with it (zlib releases the GIL: runs in threads)."""
        if zlib.crc32(_bytes_of(tensor)) != self.checksums[name]:
            raise ValueError(f"checksum mismatch in {name}")
        return tensor

    def read(self, name: str):
        return self.check(name, self.view(name))

    def keep(self, tensor):
        """A tensor the model keeps. Next to int8 layers, a copy of its own: the fp32 rest (~70 MB for mms-lid-256)
        must not pin the mapping of the whole file, whose int8 pages were read for packing. fp16/bf16 tensors stay
        views of the file: its page cache, shared by every process that loads the same entry."""
        return tensor.clone() if self.int8_layers else tensor


def _assign(model, entry: _Entry) -> None:
    """Put the cached tensors into ``model``: int8 layers where the entry has them, the rest as they were stored."""
    import torch

    int8_layers = []
    for module_name, module in list(model.named_modules()):
        prefix = f"{module_name}." if module_name else ""
        if module_name in entry.int8_layers:
            int8_layers.append(module_name)
            continue
        for name, tensor in [*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)]:
            value = entry.read(prefix + name)
            if value.shape != tensor.shape:
                raise ValueError(f"{prefix}{name} has shape {tuple(value.shape)}, the model {tuple(tensor.shape)}")
            if name in module._parameters:
                module._parameters[name] = torch.nn.Parameter(entry.keep(value), requires_grad=False)
            else:
                module._buffers[name] = entry.keep(value)
    for module_name, layer in _int8_linears(entry, int8_layers):
        _set_submodule(model, module_name, layer)


def _int8_linears(entry: _Entry, names: list[str]) -> Iterator[tuple[str, Any]]:
    """The named int8 layers, built in as many threads as torch uses.

    Packing the weights for the CPU's kernels (fbgemm) is most of a warm load — 943M weights for mms-lid-256 — and
    runs on one core per call; the calls release the GIL, so the layers are packed in parallel."""
    from concurrent.futures import ThreadPoolExecutor

    import torch

    parts = {name: [entry.view(f"{name}.{part}") for part in INT8_PARTS] for name in names}
    biases = {name: entry.view(f"{name}.bias") if f"{name}.bias" in entry else None for name in names}

    def build(name: str):
        values, scales, zero_points = (
            entry.check(f"{name}.{part}", tensor) for part, tensor in zip(INT8_PARTS, parts[name], strict=True)
        )
        bias = biases[name]
        return name, _int8_linear(
            values, scales, zero_points, None if bias is None else entry.check(f"{name}.bias", bias).clone(), entry
        )

    with warnings.catch_warnings(), ThreadPoolExecutor(max_workers=max(1, torch.get_num_threads())) as pool:
        warnings.simplefilter("ignore", UserWarning)  # torch's deprecation of quantized tensors (see quantize.py)
        yield from pool.map(build, names)


def _int8_linear(values, scales, zero_points, bias, entry: _Entry):
    """A dynamic int8 Linear from its stored integer weights, scales and zero points (packed for this CPU)."""
    import torch
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    weight = torch._make_per_channel_quantized_tensor(values, scales, zero_points, 0)
    layer = DynamicLinear(1, 1, bias_=bias is not None, dtype=torch.qint8)  # 1 x 1: no packing of throw-away zeros
    layer.in_features, layer.out_features = values.shape[1], values.shape[0]
    layer.set_weight_bias(weight, bias)
    # Packed now: this layer's pages of the file go back at once, so loading holds a few layers of them at a time.
    release_pages(values, entry.mappings(values))
    return layer


def _set_submodule(model, name: str, module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, child, module)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
