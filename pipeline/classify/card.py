"""The model card of trained heads: data, parameters, dev and held-apart figures, limits."""

from __future__ import annotations

from typing import Any


def _held_apart_lines(figures: dict[str, Any] | None) -> list[str]:
    """Card lines for the general corpora's dev splits."""
    if not figures:
        return []
    feel = figures["feel_it_dev"]
    return [
        "",
        "## Held-apart general Italian (dev splits, never trained on)",
        "",
        "| benign source | sentences | felt threatened | any theme | uncertain |",
        "|---|---|---|---|---|",
        *[
            f"| {source}{' (source never trained on)' if source == 'fortunes' else ''} | "
            f"{m['sentences']} | {m['threatened_rate']:.1%} | {m['any_theme_rate']:.1%} | "
            f"{m['uncertain_share']:.1%} |"
            for source, m in figures["benign"].items()
        ],
        "",
        f"- FEEL-IT dev ({feel['tweets']} tweets, positive / negative): sentiment macro-F1 "
        f"**{feel['sentiment_macro_f1']}**; called neutral {feel['called_neutral']:.1%}; "
        f"positive called negative {feel['positive_called_negative']:.1%}; joyful tweets flagged "
        f"threatened {feel['joyful_threatened_rate']:.1%}.",
        *_everyday_lines(figures.get("everyday_dev")),
        f"- Evidence strings made of function words only: "
        f"{figures['evidence_function_words_only']:.1%}.",
        *_later_author_lines(figures.get("later_authors")),
    ]


def _tuned_lines(tuned: dict[str, Any] | None) -> list[str]:
    """The card line for the fine-tuned USE reader, when the heads have one."""
    if not tuned:
        return ["- No tuned reader (trained with `--no-tune`)."]
    return [
        f"- Tuned reader ({tuned['file']}): USE's layers fine-tuned on the same rows, "
        f"{tuned['outputs']} logits (threatened, each theme, sentiment) x{tuned['scale']} read "
        "by the sentiment heads (the theme and threat heads give them zero weight), fitted on "
        "its cross-fitted logits (each row scored by a copy not trained on its fold)."
    ]


def _everyday_lines(figures: dict[str, Any] | None) -> list[str]:
    """Card lines for the dev half of the everyday Italian (reviews, dialogue, social)."""
    return [
        f"- Everyday Italian, {genre} (dev half, {m['texts']} texts, written by people outside "
        f"the training): sentiment macro-F1 **{m['sentiment_macro_f1']}**; flagged threatened "
        f"{m['threatened_rate']:.1%}; uncertain {m['uncertain_share']:.1%}."
        for genre, m in (figures or {}).items()
    ]


def _later_author_lines(figures: dict[str, Any] | None) -> list[str]:
    """Card lines for the dev splits of the statements by later authors."""
    if not figures:
        return []
    return [
        "",
        "## Interview statements by later authors (dev splits, never trained on)",
        "",
        "Each author wrote without seeing the other files or the model; their training splits",
        "are trained on, so these are same-author figures (`benchmarks/classify.py`).",
        "",
        "| dev split | statements | sentiment macro-F1 | threatened F1 (P / R) | theme micro-F1 |",
        "|---|---|---|---|---|",
        *[
            f"| {name} | {m['examples']} | {m['sentiment_macro_f1']} | "
            f"{m['threatened']['f1']} ({m['threatened']['precision']} / "
            f"{m['threatened']['recall']}) | {m['theme_micro_f1']} |"
            for name, m in figures.items()
        ],
    ]


def model_card(meta: dict[str, Any]) -> str:
    """Markdown card for the trained heads: data, parameters, dev metrics, versions."""
    training = meta["training"]
    lines = [
        "# ascolto classifier heads (written by `ascolto train`)",
        "",
        f"- Trained: {meta['trained_at']} (seed {meta['seed']}); weights sha256 "
        f"`{meta.get('weights_sha256', '')[:16]}`; format: `heads.npz` (float arrays, loaded "
        "with `allow_pickle=False`) + `heads.json`.",
        f"- Data: {training['statements']} training statements "
        f"({meta['sources'].get('train')}), each also seen as a spoken-style copy; dev: "
        f"{meta.get('dev', {}).get('statements', 0)} statements ({meta['sources'].get('dev')}), "
        "never used to fit anything.",
        "- General Italian trained on (training splits only, `pipeline/classify/corpora.py`): "
        + (", ".join(f"{n} {kind}" for kind, n in training.get("general", {}).items()) or "none")
        + " (feel-it: tweets, sentiment only, joyful ones also negatives for the threat heads; "
        "everyday: reviews, coaching-dialogue turns and social comments by independent authors, "
        "sentiment only, negatives for the threat heads; the others: benign sentences from "
        "Debian's Italian documentation, no theme).",
        f"- Unfamiliar text: best cosine to {meta.get('n_centroids')} centroids "
        f"of the statements under {meta.get('ood_similarity')} (the {meta.get('ood_quantile', 0.02):.0%} quantile for new "
        "statements, measured across folds): no threat is reported on it, the label is "
        "uncertain instead.",
        f"- Embeddings: {meta['embedder_id']} (x{meta['emb_scale']}); hashed lemma n-grams "
        f"({meta['n_hash']} columns, negation-marked); cue features from themes.yaml.",
        *_tuned_lines(meta.get("tuned")),
        f"- Heads: logistic regression, theme C={meta['theme_C']}, sentiment "
        f"C={meta['sentiment_C']}, chosen by {meta.get('folds', 5)}-fold cross-validation on the training split "
        f"({_folded_by(meta)}); "
        "Platt-calibrated theme probabilities with F1-best thresholds; sentiment stacked on the "
        f"theme probabilities by polarity (C={meta['stack_C']}).",
        f"- Libraries: {', '.join(f'{k} {v}' for k, v in meta['libraries'].items())}.",
        "",
        "## Training label counts",
        "",
        "sentiment: " + ", ".join(f"{k} {v}" for k, v in training["sentiment_counts"].items()),
        "",
        "| theme | statements |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in training["theme_counts"].items()],
    ]
    dev = meta.get("dev")
    if dev:
        lines += [
            "",
            "## Dev metrics (held-out split of the same corpus, same author)",
            "",
            f"- sentiment macro-F1 **{dev['sentiment_macro_f1']}** (accuracy "
            f"{dev['sentiment_accuracy']})",
            f"- threatened F1 **{dev['threatened']['f1']}** (precision "
            f"{dev['threatened']['precision']}, recall {dev['threatened']['recall']}, "
            f"support {dev['threatened']['support']})",
            f"- theme micro-F1 **{dev['theme_micro_f1']}**",
            f"- calibration (expected calibration error): themes {dev['calibration']['theme_ece']}, "
            f"sentiment top label {dev['calibration']['sentiment_top_label_ece']}",
            "",
            "| theme | precision | recall | F1 | support |",
            "|---|---|---|---|---|",
            *[
                f"| {code} | {m['precision']} | {m['recall']} | {m['f1']} | {m['support']} |"
                for code, m in dev["themes"].items()
            ],
        ]
    lines += _held_apart_lines(meta.get("held_apart"))
    lines += _reviews_section(meta.get("reviews"))
    later = str(meta.get("sources", {}).get("train", "")).count("train_")  # one file an author
    lines += [
        "",
        "## Limits",
        "",
        f"The statements were written by the developers and by {later} later authors, each of whom "
        "saw neither the others' files nor the model (synthetic customer statements in spoken "
        "Italian, with negations, irony and ASR-style errors), so dev figures are an optimistic "
        "estimate for real customers: on an author never trained on, expect them lower. The "
        "model has never seen: real customers' words, real telephone transcripts, public "
        "product reviews, recorded dialogue outside debt collection or public social-media text "
        "(the everyday Italian above is written to order by independent authors). Retrain with "
        "`ascolto train` on your own labelled lines.",
        "",
    ]
    return "\n".join(lines)


def _reviews_section(reviews: dict[str, Any] | None) -> list[str]:
    """The card's lines on analysts' reviews folded into training (none: no lines)."""
    if not reviews:
        return []

    def line(name: str, figures: dict[str, Any] | None) -> str:
        if figures is None:
            return f"- {name}: nothing held out"
        threatened = figures["threatened"]
        return (
            f"- {name} ({figures['classifier']}): sentiment accuracy "
            f"{figures['sentiment_accuracy']}, threatened F1 {threatened['f1']} (precision "
            f"{threatened['precision']}, recall {threatened['recall']}), theme micro-F1 "
            f"{figures['theme_micro_f1']}"
        )

    return [
        "",
        "## Analysts' reviews (`ascolto train --with-reviews`)",
        "",
        f"- {reviews['used']} reviews from {reviews['data_dir']} added to training (each "
        f"{reviews['weight']} time(s)); {reviews['held_out']} held out (seed {reviews['seed']}, "
        "grouped by text), never fitted:",
        line("before, the classifier configured at training time", reviews["before"]),
        line("after, these heads", reviews["after"]),
    ]


def _folded_by(meta: dict[str, Any]) -> str:
    """How the cross-validation folds were cut, in words."""
    if meta.get("folded_by") == "source":
        return "each author's statements in one fold, so settings are chosen for unread writers"
    return "statements dealt out at random"
