"""What a benchmark ran on, written beside its figures.

Speed ratios depend on the CPU more than on anything in ascolto: faster-whisper's int8 against
openai-whisper's float32 is an int8 GEMM against a float32 one, and a CPU with AVX-512 VNNI runs
the first far faster than an AVX2-only one. The same 2-core sandbox has been an AVX2 AMD EPYC on
one day and an AVX-512 one on another, so every speed figure carries the instruction sets it
had, or two runs cannot be compared.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

# The instruction sets that change int8 / bfloat16 matrix speed, as /proc/cpuinfo names them.
SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16")
OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def cpuinfo(path: Path = Path("/proc/cpuinfo")) -> tuple[str, set[str]]:
    """(model name, flags) of the first CPU listed; no flags where the file is missing."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor(), set()
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break  # the first CPU's block is enough: they are all alike
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields.get("model name", platform.processor()), set(fields.get("flags", "").split())


def describe(**extra: Any) -> dict[str, Any]:
    """CPU model and count, speed-relevant instruction sets, Python, the OpenBLAS variables set."""
    model, flags = cpuinfo()
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "speed_flags": [flag for flag in SPEED_FLAGS if flag in flags],
        "python": platform.python_version(),
        "openblas_env": {k: os.environ[k] for k in OPENBLAS_VARIABLES if k in os.environ},
        **extra,
    }
