"""Turn the bundled CTranslate2 Whisper weights into an openai-whisper checkpoint, offline.

openai-whisper has no checkpoint in any package and its hub is unreachable here, but the bundled
CTranslate2 model holds the same tensors under other names (and with attention projections
fused). `read_ct2` parses CTranslate2's `model.bin`; `to_openai` renames and splits the tensors;
`convert_bundled` writes `{"dims": ..., "model_state_dict": ...}`, the format `whisper.load_model`
reads. A faithful conversion transcribes like faster-whisper at float32.
"""

from __future__ import annotations

import hashlib
import re
import struct
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from pipeline.errors import AscoltoError

# Order of CTranslate2's DataType enum (include/ctranslate2/types.h).
_CT2_DTYPES: tuple[Any, ...] = (np.float32, np.int8, np.int16, np.int32, np.float16, "bfloat16")


class ConversionError(AscoltoError, ValueError):
    """The file is not a CTranslate2 Whisper model this converter understands."""


def read_ct2(path: Path) -> dict[str, np.ndarray]:
    """All variables of a CTranslate2 `model.bin` (aliases resolved), as numpy arrays."""
    variables: dict[str, np.ndarray] = {}
    with path.open("rb") as fh:
        version = _unpack(fh, "I")
        if version < 5:
            raise ConversionError(f"{path}: CTranslate2 binary version {version} is too old")
        spec = _string(fh)
        if spec != "WhisperSpec":
            raise ConversionError(f"{path}: a {spec} model, not Whisper")
        _unpack(fh, "I")  # spec revision
        for _ in range(_unpack(fh, "I")):
            name = _string(fh)
            shape = [_unpack(fh, "I") for _ in range(_unpack(fh, "B"))]
            dtype = _CT2_DTYPES[_unpack(fh, "B")]
            raw = fh.read(_unpack(fh, "I"))
            if dtype == "bfloat16":
                widened = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
                variables[name] = widened.view(np.float32).reshape(shape)
            else:
                variables[name] = np.frombuffer(raw, dtype=dtype).reshape(shape)
        for _ in range(_unpack(fh, "I")):
            alias, target = _string(fh), _string(fh)
            variables[alias] = variables[target]
    if any(name.endswith("weight_scale") for name in variables):
        raise ConversionError(f"{path}: weights are quantized; convert a float16/float32 model")
    return variables


def _unpack(fh: BinaryIO, fmt: str) -> int:
    size = struct.calcsize(fmt)
    data = fh.read(size)
    if len(data) != size:
        raise ConversionError("truncated CTranslate2 model file")
    return int(struct.unpack(fmt, data)[0])


def _string(fh: BinaryIO) -> str:
    return fh.read(_unpack(fh, "H"))[:-1].decode("utf-8")


def _layers(variables: dict[str, np.ndarray], side: str) -> int:
    found = {int(m.group(1)) for k in variables if (m := re.match(rf"{side}/layer_(\d+)/", k))}
    return len(found)


def dims_of(variables: dict[str, np.ndarray]) -> dict[str, int]:
    """openai-whisper `ModelDimensions` read off the tensor shapes."""
    return {
        "n_mels": int(variables["encoder/conv1/weight"].shape[1]),
        "n_audio_ctx": int(variables["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(variables["encoder/conv1/weight"].shape[0]),
        "n_audio_head": int(variables["encoder/num_heads"]),
        "n_audio_layer": _layers(variables, "encoder"),
        "n_vocab": int(variables["decoder/embeddings/weight"].shape[0]),
        "n_text_ctx": int(variables["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(variables["decoder/embeddings/weight"].shape[1]),
        "n_text_head": int(variables["decoder/num_heads"]),
        "n_text_layer": _layers(variables, "decoder"),
    }


def _linear(out: dict, ct2: dict, src: str, dst: str, bias: bool = True) -> None:
    out[f"{dst}.weight"] = ct2[f"{src}/weight"]
    if bias:
        out[f"{dst}.bias"] = ct2[f"{src}/bias"]


def _norm(out: dict, ct2: dict, src: str, dst: str) -> None:
    out[f"{dst}.weight"] = ct2[f"{src}/gamma"]
    out[f"{dst}.bias"] = ct2[f"{src}/beta"]


def _split(ct2: dict, src: str, parts: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    return (
        np.split(ct2[f"{src}/weight"], parts, axis=0),
        np.split(ct2[f"{src}/bias"], parts, axis=0),
    )


def _attention(out: dict, weights: list, biases: list, names: list[str], dst: str) -> None:
    for name, weight, bias in zip(names, weights, biases, strict=True):
        out[f"{dst}.{name}.weight"] = weight
        if name != "key":  # Whisper's key projection has no bias (CTranslate2 stores zeros)
            out[f"{dst}.{name}.bias"] = bias


def to_openai(ct2: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """openai-whisper state-dict names and shapes for CTranslate2 Whisper variables."""
    out: dict[str, np.ndarray] = {}
    for conv in ("conv1", "conv2"):
        _linear(out, ct2, f"encoder/{conv}", f"encoder.{conv}")
    out["encoder.positional_embedding"] = ct2["encoder/position_encodings/encodings"]
    for i in range(_layers(ct2, "encoder")):
        src, dst = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        _self_attention(out, ct2, src, dst)
        _mlp(out, ct2, src, dst)
    _norm(out, ct2, "encoder/layer_norm", "encoder.ln_post")
    out["decoder.token_embedding.weight"] = ct2["decoder/embeddings/weight"]
    out["decoder.positional_embedding"] = ct2["decoder/position_encodings/encodings"]
    for i in range(_layers(ct2, "decoder")):
        src, dst = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        _self_attention(out, ct2, src, dst)
        _linear(out, ct2, f"{src}/attention/linear_0", f"{dst}.cross_attn.query")
        weights, biases = _split(ct2, f"{src}/attention/linear_1", 2)
        _attention(out, weights, biases, ["key", "value"], f"{dst}.cross_attn")
        _linear(out, ct2, f"{src}/attention/linear_2", f"{dst}.cross_attn.out")
        _norm(out, ct2, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
        _mlp(out, ct2, src, dst)
    _norm(out, ct2, "decoder/layer_norm", "decoder.ln")
    return out


def _self_attention(out: dict, ct2: dict, src: str, dst: str) -> None:
    weights, biases = _split(ct2, f"{src}/self_attention/linear_0", 3)
    _attention(out, weights, biases, ["query", "key", "value"], f"{dst}.attn")
    _linear(out, ct2, f"{src}/self_attention/linear_1", f"{dst}.attn.out")
    _norm(out, ct2, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")


def _mlp(out: dict, ct2: dict, src: str, dst: str) -> None:
    _linear(out, ct2, f"{src}/ffn/linear_0", f"{dst}.mlp.0")
    _linear(out, ct2, f"{src}/ffn/linear_1", f"{dst}.mlp.2")
    _norm(out, ct2, f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")


def convert(model_dir: Path, out: Path) -> Path:
    """Write an openai-whisper checkpoint (float32) converted from a CTranslate2 Whisper folder."""
    import torch

    ct2 = read_ct2(model_dir / "model.bin")
    state = {
        k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
        for k, v in to_openai(ct2).items()
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".partial")
    torch.save({"dims": dims_of(ct2), "model_state_dict": state}, partial)
    partial.replace(out)
    return out


def converted_bundled_path(cache: Path, bundled_sha256: str) -> Path:
    """Where the checkpoint converted from the bundled model lives (keyed by its hash)."""
    tag = hashlib.sha256(f"openai-from-ct2:{bundled_sha256}".encode()).hexdigest()[:12]
    return cache / f"whisper-base-openai-{tag}.pt"
