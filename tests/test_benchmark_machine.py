"""The machine description written beside every benchmark's speed figures."""

from __future__ import annotations

from pathlib import Path

from benchmarks import machine

CPUINFO = """processor\t: 0
model name\t: AMD EPYC
flags\t\t: fpu sse2 avx2 avx512f avx512_vnni

processor\t: 1
model name\t: Another CPU
flags\t\t: fpu
"""


def test_first_cpu_model_and_its_flags(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(CPUINFO)
    assert machine.cpuinfo(info) == ("AMD EPYC", {"fpu", "sse2", "avx2", "avx512f", "avx512_vnni"})


def test_missing_cpuinfo_gives_no_flags(tmp_path: Path) -> None:
    assert machine.cpuinfo(tmp_path / "absent")[1] == set()


def test_description_keeps_speed_flags_in_a_fixed_order_and_extra_fields() -> None:
    described = machine.describe(threads=2)
    assert described["threads"] == 2
    flags = described["speed_flags"]
    assert flags == [f for f in machine.SPEED_FLAGS if f in flags]
    assert set(described["openblas_env"]) <= set(machine.OPENBLAS_VARIABLES)
