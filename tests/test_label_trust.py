"""Labels that hold beyond our own sentences: precision first, evidence, uncertainty, corpora."""

import json
import subprocess
import sys

import numpy as np
import pytest

from pipeline.classify import corpora
from pipeline.classify.classifier import HybridClassifier, make_classifier
from pipeline.classify.cues import is_content
from pipeline.classify.evaluate import Example
from pipeline.classify.heads import THREATENED_HEAD
from pipeline.classify.train import _known_mask
from pipeline.config import load_settings

SETTINGS = load_settings()
AUTHORS = (
    "_extra",
    "_third",
    "_fourth",
    "_fifth",
    "_sixth",
    "_seventh",
    "_eighth",
    "_ninth",
    "_tenth",
    "_eleventh",
    "_twelfth",
    "_thirteenth",
    "_fourteenth",
    "_seventeenth",
)  # statements after the first set
HELDOUT_AUTHORS = (
    "_fifteenth",
    "_nineteenth",
    "_sixteenth",
    "_twentieth",
    "_twentyfirst",
    "_twentysecond",
    "_twentythird",
)  # whole sets, never split nor trained on


@pytest.fixture(scope="module")
def classifier() -> HybridClassifier:
    return make_classifier(SETTINGS)


def _content_words(classifier: HybridClassifier, text: str) -> list[str]:
    return [t.text for t in classifier.matcher.nlp(text.lower()) if is_content(t)]


# -- conditionals and negation --------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "theme"),
    [
        ("se non pagavo subito mi pignoravano lo stipendio", "LEGAL_THREAT"),
        ("mi ha detto che se non pago entro venerdì mi manda l'avvocato", "LEGAL_THREAT"),
    ],
)
def test_a_negated_condition_does_not_cancel_the_threat_after_it(classifier, text, theme):
    analysis = classifier.matcher.analyze_many([text])[0]
    assert analysis.live_cues(theme), analysis.cues
    label = classifier.classify(text)
    assert label.threatened and theme in label.themes, label


def test_the_negator_of_a_condition_still_negates_its_own_verb(classifier):
    analysis = classifier.matcher.analyze_many(["se non pagavo subito mi pignoravano"])[0]
    words = [t.text for t in analysis.doc]
    assert analysis.scope[words.index("pagavo")] and not analysis.scope[words.index("subito")]


@pytest.mark.parametrize("text", ["non mi hanno minacciato", "nessuno mi ha minacciato"])
def test_a_plain_negation_still_cancels_the_threat(classifier, text):
    assert not classifier.classify(text).threatened


# -- a threat denied by contrast or outright ------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "più che minacciato mi sono sentito preso in giro",
        "piuttosto che spaventata ero arrabbiata con me stessa",
        "anziché minacciarmi mi hanno proposto di pagare a rate",
        "ha detto che poteva finire davanti al giudice di pace, ma io non mi sono sentita minacciata",
        "mi ha spiegato che se non pagavo passava al legale, però detto senza minacce",
        "dopo sessanta giorni scattava il legale, me l'ha detto onesto, non minaccioso",
        "nessuna pressione, mi ha lasciato tutto il tempo che volevo",
        "mi ha detto che se non pagavo c'era l'avvocato. nessuno ha minacciato nessuno, eh",
        "minacciosi no, un po' freddi sì",
        "mi ha parlato dell'ingiunzione perché gliel'ho chiesto io, non la considero una minaccia",
        "se non pagavo passava al legale, ma me l'ha detto senza cattiveria",
    ],
)
def test_a_denied_threat_is_not_counted_nor_left_uncertain(classifier, text):
    label = classifier.classify(text)
    assert not label.threatened and label.uncertain is None, label


@pytest.mark.parametrize(
    "text",
    [
        "una signora mi ha detto che era passato allo studio legale. niente minacce, solo fatti",
        "mi ha parlato dell'avvocato, ma quale minaccia: era un'informazione",
        "l'avvocato l'ha nominato appena, che minaccia e minaccia",
    ],
)
def test_spoken_denials_speak_of_the_threat_words_before_them(classifier, text):
    analysis = classifier.matcher.analyze_many([text])[0]
    cues = [c for c in analysis.cues if c.key == "LEGAL_THREAT"]
    assert cues and analysis.denied_until is not None, analysis
    assert all(c.start < analysis.denied_until for c in cues)


@pytest.mark.parametrize(
    ("text", "theme"),
    [
        ("è l'ultima possibilità, mi ha detto", "UNDUE_PRESSURE"),
        ("'ultimo avviso', ripeteva", "UNDUE_PRESSURE"),
        ("o adesso o niente, signora", "UNDUE_PRESSURE"),
        # handing over to a harsher agency is this agency's threat, not another's conduct
        ("dovevo dire sì subito, sennò passavano tutto a un'altra agenzia che urla", "AGGRESSION"),
    ],
)  # fmt: skip
def test_ultimatums_and_handovers_are_threat_cues(classifier, text, theme):
    assert classifier.matcher.analyze_many([text])[0].live_cues(theme)


def test_a_contrast_denies_only_threats_and_only_where_no_threat_cue_stands(classifier):
    assert classifier.classify("è stata più che gentile").sentiment == "positive"
    label = classifier.classify(
        "più che minacciato mi sono sentito confuso, poi però mi hanno detto che mi pignoravano"
    )
    assert label.threatened and label.evidence["LEGAL_THREAT"] == ["pignoravano"], label


@pytest.mark.parametrize(
    ("text", "theme"),
    [
        # a "but" after the denial goes on to the threat
        ("non mi hanno minacciato, ma mi hanno detto che mi pignoravano lo stipendio", "LEGAL_THREAT"),
        # a threat word after the denial is not what the denial speaks of
        ("non mi sono sentito minacciato, mi sono sentito aggredito: mi urlava contro", "AGGRESSION"),
    ],
)  # fmt: skip
def test_a_denial_speaks_only_of_the_threat_words_before_it(classifier, text, theme):
    analysis = classifier.matcher.analyze_many([text])[0]
    assert analysis.live_cues(theme), analysis.cues
    assert theme in classifier.classify(text).themes


def test_a_denial_followed_by_a_but_denies_nothing(classifier):
    analysis = classifier.matcher.analyze_many(["non mi ha minacciato, però il tono era gelido"])[0]
    assert analysis.denied_until is None
    plain = classifier.matcher.analyze_many(["non mi ha minacciato, il tono era gentile"])[0]
    assert plain.denied_until is not None


def _heads_reading(classifier, theme: str, score: float, also: dict[str, float] | None = None):
    """The heads' own predictions, with `theme` forced to `score` (what they once read).

    `also`: more head scores forced the same way.
    """
    predict = classifier.heads.predict
    forced = {theme: score, **(also or {})}

    def heads_read(analyses, embeddings):
        found = predict(analyses, embeddings)
        return [(sentiment, {**scores, **forced}) for sentiment, scores in found]

    return heads_read


# -- a threat only the heads see, in praise ---------------------------------------------------
def test_a_threat_the_heads_read_into_praise_goes_to_an_analyst(classifier, monkeypatch):
    text = "Un ragazzo a modo, mi ha pure chiesto scusa per il disturbo all'inizio."
    analysis = classifier.matcher.analyze_many([text])[0]
    assert not any(analysis.live_cues(c) for c in classifier.taxonomy.threatened)
    monkeypatch.setattr(classifier.heads, "predict", _heads_reading(classifier, "AGGRESSION", 0.99))
    label = classifier.classify(text)
    assert label.sentiment == "positive" and not label.threatened, label
    assert label.uncertain == "threat seen by the model without words that carry it"


def test_a_doubtful_threat_without_threat_words_goes_to_an_analyst_under_the_set_score(
    classifier, monkeypatch
):
    text = "Gli ho detto che sono invalida. Lui: e quindi? Ho attaccato."
    analysis = classifier.matcher.analyze_many([text])[0]
    assert not any(analysis.live_cues(c) for c in classifier.taxonomy.threatened)
    monkeypatch.setattr(classifier.heads, "predict", _heads_reading(classifier, "AGGRESSION", 0.6))
    assert classifier.config.unbacked_threat_score == 0  # shipped: off (README, measured)
    assert classifier.classify(text).threatened
    strict = classifier.config.model_copy(update={"unbacked_threat_score": 0.7})
    monkeypatch.setattr(classifier, "config", strict)
    label = classifier.classify(text)
    assert not label.threatened, label
    assert label.uncertain == "threat seen by the model without words that carry it"
    # a threat word in the line: the score bar does not apply
    worded = "Gli ho detto che sono invalida e lui mi ha urlato contro."
    assert classifier.classify(worded).threatened


def test_a_threat_needs_the_margin_over_its_trained_threshold(classifier, monkeypatch):
    text = "Gli ho detto che sono invalida. Lui: e quindi? Ho attaccato."
    just_over = classifier.heads.threshold("AGGRESSION") + 0.02
    pooled_quiet = {THREATENED_HEAD: 0.0}  # only the theme's own head decides here
    monkeypatch.setattr(
        classifier.heads,
        "predict",
        _heads_reading(classifier, "AGGRESSION", just_over, also=pooled_quiet),
    )
    assert classifier.config.threat_margin == 0.05  # shipped (README, measured)
    assert not classifier.classify(text).threatened
    without = classifier.config.model_copy(update={"threat_margin": 0.0})
    monkeypatch.setattr(classifier, "config", without)
    assert classifier.classify(text).threatened


def test_praise_with_a_threat_word_keeps_its_threat(classifier):
    label = classifier.classify("mi ha urlato contro, poi si è scusato ed è stato gentilissimo")
    assert "AGGRESSION" in label.themes, label


# -- the customer's own steps ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "theme"),
    [
        ("ho chiamato il mio avvocato e gli ho spiegato tutto", "LEGAL_THREAT"),
        ("mio cugino fa l'avvocato e mi ha detto di stare tranquillo", "LEGAL_THREAT"),
        ("se continuano così li denuncio io", "LEGAL_THREAT"),
        ("gli ho detto che se mi richiamavano li denunciavo alla polizia postale", "LEGAL_THREAT"),
        ("domani vado dall'avvocato a farmi consigliare", "LEGAL_THREAT"),
        # another agency's conduct, or another customer's, beside this contact
        ("quello dell'agenzia di prima mi urlava addosso, questi invece sono educati", "AGGRESSION"),
        ("la prima agenzia mi aveva detto che finivo in tribunale, questa no", "LEGAL_THREAT"),
        ("una mia vicina mi aveva raccontato che a lei mandavano l'ufficiale giudiziario", "LEGAL_THREAT"),
    ],
)  # fmt: skip
def test_a_threat_word_that_is_not_this_collectors_does_not_count(classifier, text, theme):
    analysis = classifier.matcher.analyze_many([text])[0]
    assert [c for c in analysis.cues if c.key == theme], analysis.cues
    assert not analysis.live_cues(theme), analysis.cues
    assert theme not in classifier.classify(text).themes


def test_a_threat_the_heads_read_beside_the_customers_own_step_goes_to_an_analyst(
    classifier, monkeypatch
):
    text = "domani vado dall'avvocato a farmi consigliare"
    analysis = classifier.matcher.analyze_many([text])[0]
    assert analysis.own_step and analysis.cues and not analysis.live_cues("LEGAL_THREAT")
    # "domani" once read as a threat
    monkeypatch.setattr(
        classifier.heads, "predict", _heads_reading(classifier, "UNDUE_PRESSURE", 0.99)
    )
    label = classifier.classify(text)
    assert not label.threatened and label.uncertain is not None, label


@pytest.mark.parametrize(
    "text",
    [
        "mi hanno detto che andavano dall'avvocato se non pagavo",
        "se non paga la denuncio, mi ha detto così",
        "mi sono rivolta a un avvocato perché minacciavano il pignoramento",
        # the agency speaks as "noi" and as "lei", and customers quote it word for word
        "se non paga la denuncio io, mi ha detto",
        "mi fa: guardi che il nostro avvocato ha già la pratica",
        "mi ha detto abbiamo incaricato l'avvocato",
        "se non pagate vi denuncio, ha detto a me e mio marito",
        "se non paga andiamo dall'avvocato",
        "abbiamo presentato una denuncia contro di lei",
    ],
)
def test_the_collectors_lawyer_still_counts_beside_the_customers(classifier, text):
    assert classifier.matcher.analyze_many([text])[0].live_cues("LEGAL_THREAT")


def test_the_customers_own_steps_never_carry_a_complaint(classifier):
    text = "li denuncio io, mi hanno trattato malissimo e mi hanno urlato contro"
    analysis = classifier.matcher.analyze_many([text])[0]
    own_words = {analysis.doc[i].text for i in analysis.aside}
    assert own_words == {"li", "denuncio"}
    for code in classifier.taxonomy.threatened:
        span = classifier.heads.strongest_span(analysis, code)
        assert span is None or not own_words & set(span.split()), (code, span)


def test_a_denied_word_can_still_carry_a_complaint(classifier):
    """Only the customer's own steps are kept from evidence: "non chiaro" is a complaint."""
    label = classifier.classify("non è stato chiaro per niente, non ho capito quanto dovevo")
    assert "LACK_OF_CLARITY" in label.themes, label


# -- evidence -------------------------------------------------------------------------------
def test_evidence_always_holds_a_content_word(classifier):
    texts = [e.text for e in corpora.read_labelled(corpora.TRAINING_DIR / "dev.jsonl")[:150]]
    texts += [e.text for e in corpora.feel_it("dev")[:100]]
    for text, label in zip(texts, classifier.classify_many(texts), strict=True):
        for code, spans in label.evidence.items():
            assert spans, (text, code)
            for span in spans:
                assert span in text and _content_words(classifier, span), (text, code, span)


# -- precision first on text that is not ours -----------------------------------------------
def test_ordinary_italian_is_almost_never_threatened(classifier):
    """Held-apart benign sentences (never trained on): at most 3% flagged, per source."""
    for source in corpora.benign_sources():
        examples = corpora.benign("dev", source=source)
        labels = classifier.classify_many([e.text for e in examples])
        rate = sum(label.threatened for label in labels) / len(labels)
        assert rate <= 0.03, (source, rate)


def test_unfamiliar_text_is_never_threatened_but_goes_to_an_analyst(classifier, monkeypatch):
    text = "mi hanno minacciato di pignorarmi la casa"
    assert classifier.classify(text).threatened
    assert classifier.heads is not None
    monkeypatch.setattr(classifier.heads, "familiar", lambda vectors: np.zeros(len(vectors), bool))
    label = classifier.classify(text)
    assert not label.threatened and not set(label.themes) & classifier.taxonomy.threatened
    assert label.uncertain and "unlike its training" in label.uncertain


def test_familiarity_separates_statements_from_manuals(classifier):
    heads, embedder = classifier.heads, classifier.embedder
    assert heads is not None and embedder is not None
    statements = [e.text for e in corpora.read_labelled(corpora.TRAINING_DIR / "dev.jsonl")]
    manuals = [e.text for e in corpora.benign("dev", source="libreoffice-help")]
    familiar_statements = heads.familiar(embedder.embed(statements)).mean()
    familiar_manuals = heads.familiar(embedder.embed(manuals)).mean()
    assert familiar_statements >= 0.9 and familiar_manuals <= 0.5


def test_a_certain_label_says_so(classifier):
    assert classifier.classify("mi hanno minacciato di pignorarmi la casa").uncertain is None


# -- corpora --------------------------------------------------------------------------------
def test_feel_it_splits_are_fixed_disjoint_and_a_quarter_dev():
    train, dev = corpora.feel_it("train"), corpora.feel_it("dev")
    assert not {e.id for e in train} & {e.id for e in dev}
    assert 0.2 < len(dev) / (len(train) + len(dev)) < 0.3
    assert [e.id for e in corpora.feel_it("dev")] == [e.id for e in dev]
    assert {e.sentiment for e in train} == {"positive", "negative"}
    assert all((e.known == "threats") == (e.sentiment == "positive") for e in train)


def test_the_unseen_benign_source_is_never_in_training():
    train = corpora.benign("train")
    assert train and not [e for e in train if e.id.startswith("fortunes")]
    assert corpora.benign("dev", source="fortunes")
    assert not {e.id for e in train} & {e.id for e in corpora.benign("dev")}


def test_everyday_italian_is_split_by_conversation_and_half_dev():
    train, dev = corpora.everyday("train"), corpora.everyday("dev")
    assert not {e.id for e in train} & {e.id for e in dev}
    assert 0.4 < len(dev) / (len(train) + len(dev)) < 0.6
    assert set(corpora.everyday_genres()) == {"review", "dialogue", "social"}
    assert all(e.known == "threats" and not e.themes for e in train + dev)
    assert {e.id for e in corpora.everyday(None)} == {e.id for e in train + dev}
    rows = [json.loads(line) for line in corpora.EVERYDAY.read_text().splitlines()]
    dev_ids = {e.id for e in dev}
    by_talk: dict[str, set[bool]] = {}
    for row in rows:
        by_talk.setdefault(row["group"], set()).add(
            f"everyday-{row['genre']}-{row['id']}" in dev_ids
        )
    assert all(len(sides) == 1 for sides in by_talk.values())  # a conversation on one side
    assert {e.id for e in train} <= {e.id for e in corpora.general_training()}
    # the model card counts them by genre, as it counts the other corpora by source
    kinds = {e.id.rsplit("-", 1)[0] for e in train}
    assert kinds == {"everyday-review", "everyday-dialogue", "everyday-social"}


def test_everyday_script_names_the_row_whose_stars_and_sentiment_disagree(tmp_path):
    bad = tmp_path / "reviews.jsonl"
    row = {"id": "rv1", "text": "Ottimo", "stars": 5, "sentiment": "negative", "genre": "review"}
    bad.write_text(json.dumps(row) + "\n")
    script = corpora.TRAINING_DIR.parents[1] / "scripts" / "everyday.py"
    out = tmp_path / "out.jsonl"
    run = subprocess.run(
        [sys.executable, str(script), str(bad), "--out", str(out)], capture_output=True, text=True
    )
    assert run.returncode == 1 and f"{bad}, line 1" in run.stderr and "5 stars" in run.stderr
    assert not out.exists()


def test_every_authors_statements_are_split_once_and_dev_is_never_trained_on():
    devs = corpora.later_author_devs()
    assert [p.stem for p in devs] == sorted(f"dev{s}" for s in AUTHORS)
    training = [e for path in corpora.SHIPPED_TRAINING for e in corpora.read_labelled(path)]
    trained_ids, trained_texts = (
        {e.id for e in training},
        {corpora.plain_text(e.text) for e in training},
    )
    for suffix in ("", *AUTHORS):
        dev = corpora.read_labelled(corpora.TRAINING_DIR / f"dev{suffix}.jsonl")
        assert dev and not {e.id for e in dev} & trained_ids, suffix
        assert not {corpora.plain_text(e.text) for e in dev} & trained_texts, suffix


def test_held_out_authors_are_in_no_training_or_dev_file():
    heldout = corpora.heldout_authors()
    assert [p.stem for p in heldout] == [f"statements{s}_it" for s in HELDOUT_AUTHORS]
    split = [
        e
        for path in (
            *corpora.TRAINING_DIR.glob("train*.jsonl"),
            *corpora.TRAINING_DIR.glob("dev*.jsonl"),
        )
        for e in corpora.read_labelled(path)
    ]
    seen_ids, seen_texts = {e.id for e in split}, {corpora.plain_text(e.text) for e in split}
    for path in heldout:
        statements = corpora.read_labelled(path)
        assert len(statements) >= 300, path.name
        assert not {e.id for e in statements} & seen_ids, path.name
        assert not {corpora.plain_text(e.text) for e in statements} & seen_texts, path.name


@pytest.mark.parametrize("suffix", ["", *AUTHORS])
def test_each_authors_split_holds_every_statement_once(suffix):
    folder = corpora.TRAINING_DIR
    statements = corpora.read_labelled(folder / f"statements{suffix}_it.jsonl")
    train = corpora.read_labelled(folder / f"train{suffix}.jsonl")
    dev = corpora.read_labelled(folder / f"dev{suffix}.jsonl")
    assert not {e.id for e in train} & {e.id for e in dev}
    missing = {e.id: e.text for e in statements}.keys() - {e.id for e in train + dev}
    elsewhere = {
        corpora.plain_text(e.text)
        for path in corpora.later_author_devs()
        + list(corpora.SHIPPED_TRAINING)
        + [folder / "dev.jsonl"]
        if path.name not in (f"dev{suffix}.jsonl", f"train{suffix}.jsonl")
        for e in corpora.read_labelled(path)
    }
    # the only statements left out are those another author's split already holds
    assert all(corpora.plain_text(e.text) in elsewhere for e in statements if e.id in missing), (
        missing
    )


def test_the_card_shows_each_later_authors_figures(classifier):
    from pipeline.classify.card import _later_author_lines
    from pipeline.classify.transfer import later_authors

    figures = later_authors(classifier)
    assert set(figures) == {f"dev{s}" for s in AUTHORS}
    lines = "\n".join(_later_author_lines(figures))
    for name, metrics in figures.items():
        assert f"| {name} | {metrics['examples']} | {metrics['sentiment_macro_f1']} |" in lines


def test_a_malformed_labelled_line_is_named(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "text": "x", "sentiment": "neutral", "themes": []}\n{"id": 1}\n')
    with pytest.raises(corpora.CorpusError, match=r"bad.jsonl, line 2"):
        corpora.read_labelled(path)


def test_general_examples_train_only_the_heads_whose_labels_they_know():
    rows = [
        Example("a", "x", "neutral", frozenset()),
        Example("b", "y", "positive", frozenset(), known="threats"),
        Example("c", "z", "negative", frozenset(), known="none"),
    ]
    threat_heads = np.array([True, False, True])
    known = _known_mask(rows, threat_heads)
    assert known.tolist() == [[True, True, True], [True, False, True], [False, False, False]]


def test_a_retrain_reads_the_files_the_configured_heads_were_trained_on(tmp_path):
    from pipeline.classify.reviews import configured_training

    shipped = configured_training(SETTINGS)
    listed = json.loads((SETTINGS.classify.heads / "heads.json").read_text())["sources"]["train"]
    assert [str(p.relative_to(corpora.TRAINING_DIR.parents[1])) for p in shipped] == listed.split(
        ", "
    )
    assert all(p in corpora.SHIPPED_TRAINING for p in shipped)
    assert corpora.heads_training_files({}) == corpora.SHIPPED_TRAINING  # heads from before
    gone = {"sources": {"train": "models/training/train.jsonl, models/training/gone.jsonl"}}
    with pytest.raises(corpora.CorpusError, match=r"not found here \(.*gone.jsonl\)"):
        corpora.heads_training_files(gone)
    elsewhere = tmp_path / "mine.jsonl"
    elsewhere.write_text("", encoding="utf-8")
    assert corpora.heads_training_files({"sources": {"train": str(elsewhere)}}) == (elsewhere,)
