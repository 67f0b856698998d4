"""Redaction of Whisper-style transcripts (issue 19): lower case, spoken numbers, spelled and
chunked identifiers, names after kinship and role words, addresses without a postcode.

The identifiers here are fictional; checksums are valid where a real one would be. None of these
sentences is in `benchmarks/data/pii_whisper_it.txt`.
"""

import pytest

from pipeline.privacy.redact import SUPPORTED_ENTITIES, Redactor, redactor_fingerprint
from pipeline.privacy.spoken import normalise_numbers, parse_number_word

redactor = Redactor()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mia figlia elisa ha chiamato lei", "mia figlia [NOME] ha chiamato lei"),
        ("mio marito gianni non lo sapeva", "mio marito [NOME] non lo sapeva"),
        ("il contratto è intestato a carlo moretti", "il contratto è intestato a [NOME]"),
        ("la fattura è a nome di lucia gatti", "la fattura è a nome di [NOME]"),
        ("ho parlato con la signora mancini", "ho parlato con la signora [NOME]"),
        ("il titolare è simone galli", "il titolare è [NOME]"),
        ("mia cognata rosa mi ha detto", "mia cognata [NOME] mi ha detto"),  # a word, after a cue
        ("allora federico santoro sono io", "allora [NOME] sono io"),  # two names, no cue
        ("ne ho parlato con andrea ieri", "ne ho parlato con [NOME] ieri"),
    ],
)
def test_names_in_lower_case(text, expected):
    assert redactor.redact(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "era una giornata rosa finalmente",
        "sono rimasta serena anche se il tono era duro",
        "franco e sincero le dico che mi sono sentito aggredito",
        "un operatore gentile un altro meno",
        "era una signora gentile",
        "mi hanno chiamato anche il giorno di Pasqua",
        "Chiara, precisa e gentile.",
        "ho pagato in via telematica e così via",
    ],
)
def test_names_that_are_ordinary_words_stay_without_a_cue(text):
    assert redactor.redact(text).text == text


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [  # codice fiscale DMCLGU77L19A944Y
        ("codice fiscale di emme ci elle gi u sette sette elle uno nove a nove quattro quattro ipsilon", "[CF]"),
        (
            "codice fiscale di come domodossola emme come milano ci come como elle come livorno "
            "gi come genova u come udine settantasette elle come livorno diciannove a come ancona "
            "novecentoquarantaquattro ipsilon",
            "[CF]",
        ),
        ("allora è dmclgu 77 l19 poi a944 y", "[CF]"),  # chunks, no cue: the checksum decides
        # IBAN IT80Z0760103200001023456789
        ("le coordinate sono it 80 zeta 0760 1032 0000 1023 4567 89", "[IBAN]"),
        ("i ti ottanta zeta zero sette sei zero uno zero tre due zero zero zero zero uno zero due tre quattro cinque sei sette otto nove", "[IBAN]"),
        # partita IVA 03123450631
        ("la ditta ha partita iva zero tre uno due tre quattro cinque zero sei tre uno", "[PIVA]"),
        ("numero 031 234 poi 50631", "[PIVA]"),
        # card 5200828282828210
        ("la carta è 5200 8282 poi 8282 8210", "[CARTA]"),
    ],
)  # fmt: skip
def test_spelled_and_chunked_identifiers_are_found_by_checksum(text, placeholder):
    result = redactor.redact(text)
    assert placeholder in result.text
    assert not any(c.isdigit() for c in result.text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mi chiami al tre quattro otto poi uno due tre poi quattro cinque sei sette", "mi chiami al [TELEFONO]"),
        ("il numero è 3 3 3, 4 4 4, 5 5 5 1", "il numero è [TELEFONO]"),
        ("il cellulare tre quattro sette ... due uno otto ... cinque cinque nove zero", "il cellulare [TELEFONO]"),
        ("il codice cliente è bc 778 120", "il codice cliente è [CODICE_CLIENTE]"),
        ("il numero di contratto 4 4 0 0 5 6 7 8", "il numero di contratto [CODICE_CLIENTE]"),
        ("la carta d'identità numero ce 4567 89 di", "la carta d'identità numero [DOCUMENTO]"),
        ("il passaporto è ya 7654321", "il passaporto è [DOCUMENTO]"),
        ("la targa è gi acca trecentododici kappa elle", "la targa è [TARGA]"),
        ("la targa della macchina cd 456 ef", "la targa della macchina [TARGA]"),
        ("la pratica numero 2024 / 778812", "la pratica numero [PRATICA]"),
        ("mi hanno dato il riferimento 5 5 1 2 0 9", "mi hanno dato il riferimento [PRATICA]"),
    ],
)  # fmt: skip
def test_chunked_numbers_and_new_identifier_types(text, expected):
    assert redactor.redact(text).text == expected


def test_a_partial_identifier_is_widened_to_its_run():
    # The IBAN's checksum is broken by one digit: its cue and shape still take the whole run.
    result = redactor.redact("l'iban è it 60 x 0542 8111 0100 0000 1234 57 grazie")
    assert result.text == "l'iban è [IBAN] grazie"


def test_a_long_digit_run_without_a_cue_goes_as_a_number():
    assert redactor.redact("mi hanno scritto 7 7 4 1 2 0 9 3 sulla lettera").text == (
        "mi hanno scritto [NUMERO] sulla lettera"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abito in via mazzini ventisette", "abito in [INDIRIZZO]"),
        ("la lettera è arrivata in piazza garibaldi 3", "la lettera è arrivata in [INDIRIZZO]"),
        ("stiamo in via dei mille quarantuno", "stiamo in [INDIRIZZO]"),
        ("mandatela a corso italia numero centodue b", "mandatela a [INDIRIZZO]"),
        ("sono nato il tre marzo millenovecentosessantacinque", "sono nato il [DATA_NASCITA]"),
        ("la data di nascita è ventidue dieci ottantotto", "la data di nascita è [DATA_NASCITA]"),
        ("io sono del cinquantotto e non uso internet", "io sono del [DATA_NASCITA] e non uso internet"),
        ("mia madre è del dodici giugno quarantuno", "mia madre è del [DATA_NASCITA]"),
    ],
)  # fmt: skip
def test_addresses_without_postcode_and_dates_of_birth_in_words(text, expected):
    assert redactor.redact(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "dovevo duecentocinquanta euro e ne ho pagati centoventi",
        "ho sessantasette anni e tre figli",
        "la telefonata è durata venti minuti",
        "abbiamo fatto dodici rate da ottanta euro",
        "mi hanno chiamato il quindici aprile alle otto di mattina",
        "ho pagato millecinquecento euro il tre maggio",
        "il debito era di 1.250 euro e ne ho pagati 600",
        "ho pagato 300, 200, 150 e 100 euro",
        "la bolletta è del 15 aprile 2026 di 84 euro",
        "mi hanno chiamato dieci volte in due settimane, in piazza 3 volte",
        "la bolletta del 15 04 2026 era di 250 euro",
        "sono cliente da quindici anni e pago 52 euro al mese per 18 mesi",
        "erano 1.500.000 euro di arretrati per tutto il condominio",
    ],
)
def test_amounts_ages_durations_and_dates_survive(text):
    assert redactor.redact(text).text == text


def test_number_words_with_elision():
    assert parse_number_word("millenovecentottantuno") == 1981
    assert parse_number_word("centotto") == 108
    assert normalise_numbers("via dei mille 28").text == "via dei mille 28"


def test_new_types_are_supported_and_in_the_fingerprint():
    for kind in ("CODICE_CLIENTE", "DOCUMENTO", "TARGA", "PRATICA", "NUMERO"):
        assert kind in SUPPORTED_ENTITIES
    assert len(redactor_fingerprint()) == 16
