"""Model files: conversions for the optional backends."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def convert_openai(
    out: Annotated[
        Path | None, typer.Option("--out", help="checkpoint path (default: the model cache)")
    ] = None,
) -> None:
    """Build an openai-whisper checkpoint from the bundled Whisper base weights (offline)."""
    from pipeline.asr.transcribe import BUNDLED_SHA256, bundled_model_dir, cache_dir
    from pipeline.asr.whisper_convert import convert, converted_bundled_path

    target = out or converted_bundled_path(cache_dir(), BUNDLED_SHA256)
    convert(bundled_model_dir(), target)
    typer.echo(f"wrote {target}; use it with asr.backend: openai-whisper")
