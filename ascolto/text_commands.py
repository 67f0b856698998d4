"""Commands on texts and audio, outside any store: JSON Lines in and out, nothing stored.

redact, classify, evaluate, train, transcribe and topics fit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ascolto.shared import ConfigOpt, JsonlIn, JsonlOut, choice
from pipeline.records import AsrBackend, ComputeType, FoldsBy

if TYPE_CHECKING:
    from pipeline.classify.classifier import HybridClassifier
    from pipeline.classify.evaluate import Example
    from pipeline.config import Settings
    from pipeline.records import UtteranceLabel

NEEDS_TEXT = 'expected a JSON object with a string "text"'


def _warn_skipped(path: Path, problems: list[tuple[int, str]]) -> None:
    """Name each skipped line by file:line, never its content (it may hold personal data)."""
    for number, why in sorted(problems):
        typer.secho(f"{path}:{number}: skipped, {why}", fg=typer.colors.YELLOW, err=True)


def _map_jsonl(
    source: Path,
    output: Path,
    fields: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    verb: str,
) -> None:
    """Add `fields(records)[i]` to every good line of `source`, write `output`; exit 1 if any skipped."""
    from pipeline.files import map_jsonl

    written, skipped = map_jsonl(source, output, fields)
    _warn_skipped(source, [(number, NEEDS_TEXT) for number in skipped])
    typer.echo(
        f"{verb} {written} lines into {output}" + (f"; skipped {len(skipped)}" if skipped else "")
    )
    if skipped:
        raise typer.Exit(1)


def redact(
    input_file: JsonlIn,
    output: JsonlOut,
    config: ConfigOpt = None,
) -> None:
    """Remove personal data from texts: adds "redacted" and "entities" (offsets) to each line."""
    from pipeline.config import load_settings
    from pipeline.privacy.redact import Pseudonyms, Redactor

    settings = load_settings(config).redact
    redactor = Redactor(settings.entities, allow_list=settings.allow_list)

    def add_redaction(record: dict[str, Any]) -> dict[str, Any]:
        result = redactor.redact(record["text"], Pseudonyms() if settings.pseudonyms else None)
        entities = [{"type": e.type, "start": e.start, "end": e.end} for e in result.entities]
        return {"redacted": result.text, "entities": entities}

    _map_jsonl(input_file, output, lambda rs: [add_redaction(r) for r in rs], "redacted")


def _classifier(settings: Settings) -> HybridClassifier:
    from pipeline.classify.classifier import make_classifier

    return make_classifier(settings)


def _label_fields(label: UtteranceLabel) -> dict[str, Any]:
    fields = {
        "sentiment": label.sentiment,
        "sentiment_scores": label.sentiment_scores,
        "themes": label.themes,
        "theme_scores": label.theme_scores,
        "threatened": label.threatened,
        "evidence": label.evidence,
    }
    return fields | ({"note": label.note} if label.note else {})


def classify(
    input_file: JsonlIn,
    output: JsonlOut,
    config: ConfigOpt = None,
) -> None:
    """Sentiment, themes, "felt threatened" and the evidence words for each text."""
    from pipeline.config import load_settings

    classifier = _classifier(load_settings(config))

    def add_labels(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [_label_fields(x) for x in classifier.classify_many([r["text"] for r in records])]

    _map_jsonl(input_file, output, add_labels, f"classified ({classifier.method})")


def _labelled(path: Path) -> list[Example]:
    """Labelled examples from JSON Lines; bad lines are named and skipped, none at all exits 2."""
    from pipeline.classify.evaluate import Example
    from pipeline.errors import InputError
    from pipeline.files import read_jsonl
    from pipeline.records import SENTIMENTS

    records, skipped = read_jsonl(path)
    problems = [(number, NEEDS_TEXT) for number in skipped]
    examples = []
    for number, r in records:
        themes = r.get("themes", [])
        if r.get("sentiment") not in SENTIMENTS or not isinstance(themes, list):
            problems.append((number, f"sentiment must be one of {SENTIMENTS} and themes a list"))
            continue
        examples.append(
            Example(
                str(r.get("id", number)),
                r["text"],
                r["sentiment"],
                frozenset(themes),
                source=path.stem,
            )
        )
    _warn_skipped(path, problems)
    if not examples:
        raise InputError(f"no usable labelled lines in {path}")
    return examples


def _metrics_line(metrics: dict[str, Any]) -> str:
    return (
        f"{metrics['examples']} examples ({metrics['classifier']}): sentiment macro-F1 "
        f"{metrics['sentiment_macro_f1']}, threatened F1 {metrics['threatened']['f1']}, "
        f"theme micro-F1 {metrics['theme_micro_f1']}"
    )


def evaluate(
    labelled: Annotated[
        Path, typer.Argument(help='JSON Lines: {"id", "text", "sentiment", "themes": [...]}')
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="metrics JSON to write")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Sentiment macro-F1, threatened F1, per-theme and micro F1 against human labels."""
    import json

    from pipeline.classify.evaluate import evaluate as run_evaluation
    from pipeline.config import load_settings

    examples = _labelled(labelled)
    metrics = run_evaluation(examples, _classifier(load_settings(config)))
    if output is not None:
        output.write_text(
            json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    typer.echo(_metrics_line(metrics))


def train(
    labelled: Annotated[
        list[Path] | None,
        typer.Argument(
            help='training JSON Lines file(s): {"id", "text", "sentiment", "themes"} (with '
            "--with-reviews, default: the files the configured heads were trained on)"
        ),
    ] = None,
    dev: Annotated[
        Path | None, typer.Option("--dev", help="labelled JSON Lines evaluated, never fitted")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="folder for the heads (default: classify.heads; with --with-reviews: "
            "DATA_DIR/classifier)",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="cross-validation folds and spoken copies")] = 13,
    general: Annotated[
        bool,
        typer.Option(
            help="also learn from the training splits of FEEL-IT (tweets, sentiment) and of the "
            "benign Italian sentences (no theme) in models/training/"
        ),
    ] = True,
    with_reviews: Annotated[
        Path | None,
        typer.Option("--with-reviews", help="data directory whose analysts' reviews to train on"),
    ] = None,
    held_out: Annotated[
        float,
        typer.Option(
            min=0.0, max=0.9, help="share of the reviews kept apart to measure before/after"
        ),
    ] = 0.25,
    review_weight: Annotated[
        int, typer.Option(min=1, max=50, help="each review counts as this many statements")
    ] = 1,
    folds_by: Annotated[
        FoldsBy,
        typer.Option(
            "--folds-by",
            parser=choice(FoldsBy),
            help="cross-validation folds: statements dealt at random, or each training file "
            "(one author) kept in one fold",
        ),
    ] = "statement",
    tune: Annotated[
        bool | None,
        typer.Option(
            help="also fine-tune USE's layers on the same rows; the sentiment heads read their "
            "cross-fitted logits (about 20 minutes more on 2 cores for the shipped corpus; "
            "README, 'A tuned reader'). Default: off; with --with-reviews, as the configured "
            "heads were trained"
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Fit the sentiment and theme heads, report dev metrics, write heads and MODEL_CARD.md.

    With --with-reviews the heads go to DATA_DIR/classifier (never over the shipped ones unless
    -o says so), with a config.yaml beside them for `ascolto rerun classify --config`.
    """
    from pipeline.classify.corpora import general_training
    from pipeline.classify.taxonomy import load_taxonomy
    from pipeline.classify.train import train_and_save
    from pipeline.config import load_settings
    from pipeline.embed import make_embedder

    settings = load_settings(config)
    if labelled is None and with_reviews is None:
        raise typer.BadParameter(
            "give the training JSON Lines (e.g. models/training/train.jsonl) or --with-reviews",
            param_hint="'LABELLED'",
        )
    if not labelled:
        from pipeline.classify.reviews import configured_training

        labelled = list(configured_training(settings))
    folder = output or (with_reviews / "classifier" if with_reviews else settings.classify.heads)
    train_examples = [example for path in labelled for example in _labelled(path)]
    dev_examples = _labelled(dev) if dev is not None else []
    sources = {"train": ", ".join(map(str, labelled)), "dev": str(dev) if dev else None}
    general_examples = general_training() if general else None
    embedder = make_embedder(settings.embed)
    if with_reviews is not None:
        from pipeline.classify.reviews import train_with_reviews

        result = train_with_reviews(with_reviews, settings, train_examples, dev_examples, folder,
                                    embedder, seed, held_out, review_weight, sources,
                                    general_examples, tune)  # fmt: skip
        _echo_reviews(result["reviews"], folder, with_reviews, tuned="tuned" in result)
    else:
        result = train_and_save(train_examples, dev_examples, load_taxonomy(settings.themes_file),
                                embedder, settings.embed, settings.classify, folder, seed=seed,
                                sources=sources, general=general_examples,
                                folds_by=folds_by, tune=bool(tune),
                                progress=typer.echo)  # fmt: skip
    typer.echo(f"trained on {len(train_examples)} statements; heads in {folder}")
    if result.get("dev"):
        typer.echo("dev: " + _metrics_line(result["dev"]))


def _echo_reviews(reviews: dict[str, Any], folder: Path, data_dir: Path, tuned: bool) -> None:
    typer.echo(f"reviews: {reviews['used']} used for training, {reviews['held_out']} held out")
    typer.echo("tuned reader: " + ("fine-tuned again (tuned.npz)" if tuned else "none"))
    for name in ("before", "after"):
        if reviews[name]:
            typer.echo(f"  {name} on held-out reviews: " + _metrics_line(reviews[name]))
    typer.echo(
        f"next: ascolto rerun classify --data-dir {data_dir} --config {folder / 'config.yaml'} "
        f"(or set classify.heads: {folder} in your own config)"
    )


def transcribe(
    audio: Annotated[list[Path], typer.Argument(help="audio files (wav, flac, mp3, m4a, ogg...)")],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSON Lines to write")],
    backend: Annotated[
        AsrBackend | None,
        typer.Option("--backend", parser=choice(AsrBackend), help="overrides asr.backend"),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="overrides asr.model")] = None,
    compute_type: Annotated[
        ComputeType | None,
        typer.Option(
            "--compute-type", parser=choice(ComputeType), help="overrides asr.compute_type"
        ),
    ] = None,
    language: Annotated[
        str | None, typer.Option("--language", help="Whisper code, e.g. it")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """RAW speech-to-text for evaluation and debugging: NOT redacted, nothing is stored.

    Writes one JSON line per file with its segments, roles and confidence. The output contains
    whatever personal data was said: keep it out of shared folders. For the analytics use
    `ascolto run`, which redacts before storing.
    """
    import time

    from pipeline.asr.audio import AudioError
    from pipeline.asr.transcribe import make_transcriber
    from pipeline.config import AsrConfig, load_settings
    from pipeline.files import write_jsonl
    from pipeline.stages import transcribe_audio

    settings = load_settings(config)
    overrides = {"backend": backend, "model": model, "compute_type": compute_type}
    asr = AsrConfig.model_validate(
        settings.asr.model_dump() | {k: v for k, v in overrides.items() if v is not None}
    )
    settings = settings.model_copy(update={"asr": asr, "language": language or settings.language})
    transcriber = make_transcriber(settings.asr)
    records, failed = [], 0
    for path in audio:
        started = time.perf_counter()
        try:
            decoded, segments = transcribe_audio(path, settings, transcriber)
        except AudioError as exc:  # one unreadable file: skip it, exit 1 at the end
            typer.secho(f"{path}: skipped: {exc}", fg=typer.colors.YELLOW, err=True)
            failed += 1
            continue
        record = {
            "file": str(path),
            "duration_s": round(decoded.duration_s, 2),
            "channels": decoded.channels,
            "language": settings.language,
            "text": " ".join(s.text for s in segments),
            "segments": [
                {
                    "start": s.start,
                    "end": s.end,
                    "text": s.text,
                    "role": s.role,
                    "avg_logprob": round(s.avg_logprob, 3),
                    "no_speech_prob": round(s.no_speech_prob, 3),
                    "low_confidence": s.low_confidence,
                }
                for s in segments
            ],
            "backend": transcriber.backend,
            "model": transcriber.model_id,
            "elapsed_s": round(time.perf_counter() - started, 2),
        }
        records.append(record)
        typer.echo(f"{path}: {len(segments)} segments, {record['elapsed_s']} s", err=True)
    write_jsonl(output, records)
    typer.echo(f"transcribed {len(records)} files into {output} (raw text, not redacted)")
    if failed:
        raise typer.Exit(1)


def topics_fit(
    input_file: JsonlIn,
    output: JsonlOut,
    seed: Annotated[int | None, typer.Option(help="overrides topics.seed")] = None,
    min_size: Annotated[
        int | None,
        typer.Option(help="fewer usable texts than this: no topics (topics.min_utterances)"),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Topics of any batch of texts: adds "topic" (-1: none) and "topic_label" to each line."""
    from pipeline.config import load_settings
    from pipeline.embed import make_embedder
    from pipeline.topics import fit_topics

    settings = load_settings(config)
    updates = {k: v for k, v in {"seed": seed, "min_utterances": min_size}.items() if v is not None}
    topics_config = settings.topics.model_copy(update=updates)
    notes: list[str] = []

    def add_topics(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        texts = [str(r["text"]) for r in records]
        embedder = make_embedder(settings.embed)
        fit = fit_topics(texts, embedder.embed(texts), topics_config, embedder=embedder)
        if fit.note:
            notes.append(fit.note)
        labels = (
            dict(zip(fit.info["topic_id"], fit.info["label"], strict=True)) if len(fit.info) else {}
        )
        topic = dict(zip(fit.assignments["doc_index"], fit.assignments["topic_id"], strict=True))
        return [
            {"topic": int(topic.get(i, -1)), "topic_label": labels.get(topic.get(i, -1), "")}
            for i in range(len(records))
        ]

    _map_jsonl(input_file, output, add_topics, "topics for")
    for note in notes:
        typer.echo(note)
