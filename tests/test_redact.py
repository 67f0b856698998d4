import pytest

from pipeline.privacy.pii import luhn_valid
from pipeline.privacy.redact import Pseudonyms, Redactor
from pipeline.privacy.spoken import normalise_numbers, parse_number_word

redactor = Redactor()


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [
        ("il mio numero è 347 218 5590 se serve", "[TELEFONO]"),
        ("chiamatemi al +39 06.1234.5678", "[TELEFONO]"),
        ("il mio numero è 347,200,185,596 serve", "[TELEFONO]"),  # as Whisper base wrote it
        ("numero di cellulare 3 4 7 2 1 8 5 5 9 0", "[TELEFONO]"),
        ("scrivete a mario.verdi@example.com grazie", "[EMAIL]"),
        ("scrivete a mario punto verdi chiocciola example punto com", "[EMAIL]"),
        ("il codice fiscale è RSSMRA80A01H501U", "[CF]"),
        ("codice fiscale rssmra80a01h501u", "[CF]"),
        (
            "Il mio codice fiscale RSSMR è 81H501, l'avevo già dato",
            "[CF]",
        ),  # as Whisper base split it
        ("IBAN IT60 X054 2811 1010 0000 0123 456 per il rimborso", "[IBAN]"),
        ("la carta 4111 1111 1111 1111 è scaduta", "[CARTA]"),
        ("buongiorno mi chiamo Giulia Bianchi", "[NOME]"),
        ("ho parlato con la signora Esposito", "[NOME]"),
    ],
)
def test_identifiers_are_replaced(text, placeholder):
    result = redactor.redact(text)
    assert placeholder in result.text
    assert result.counts


@pytest.mark.parametrize(
    "text",
    [
        "dovevo 250 euro e ne ho pagati 120,50",
        "la bolletta di marzo 2026 scadeva il 15/04/2026",
        "mi hanno chiamato cinque volte in 3 giorni, ho 67 anni",
        "abbiamo fatto quattro rate da 80 euro",
        "il numero della pratica è scritto sulla lettera",
        "un debito di 345.000 euro",
    ],
)
def test_numbers_that_are_not_personal_data_stay(text):
    assert redactor.redact(text).text == text


@pytest.mark.parametrize(
    "heard",
    [  # spelled addresses as Whisper base wrote them on the demo
        "Potete scrivermi a m a e o punto vuo era di chi occio la x m p l e e punto ci o m per la ricevuta.",
        "Potete scrivermi a mairio.vrd kioccio la xmpl.com per la ricevuta.",
    ],
)
def test_spelled_email_is_removed(heard):
    result = redactor.redact(heard)
    assert result.text == "Potete scrivermi a [EMAIL] per la ricevuta."


def test_email_cue_without_an_address_keeps_the_text():
    text = "mi hanno scritto una mail per dirmi che era tutto a posto"
    assert redactor.redact(text).text == text


def test_split_codice_fiscale_is_removed_whole():
    result = redactor.redact(
        "Il mio codice fiscale RSSMR è 81H501, l'avevo già dato all'operatore."
    )
    assert result.text == "Il mio codice fiscale [CF], l'avevo già dato all'operatore."
    assert (
        redactor.redact("il codice fiscale l'ho già dato").text == "il codice fiscale l'ho già dato"
    )


def test_offsets_point_into_the_original_text():
    text = "sono Giulia Bianchi, numero 347 218 5590"
    entities = redactor.find(text)
    assert [text[e.start : e.end] for e in entities] == ["Giulia Bianchi", "347 218 5590"]


def test_checksums_decide_for_bare_numbers():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert redactor.redact("IBAN IT60X0542811101000000123456").text == "IBAN [IBAN]"
    # A foreign IBAN with a broken checksum is not an Italian IBAN and not a known shape.
    assert "[IBAN]" not in redactor.redact("riferimento DE00 1234 5678 9012 3456 78").text
    assert redactor.redact("ditta 02840390161 a posto").text == "ditta [PIVA] a posto"
    # A bad checksum is no partita IVA, but eleven digits still go, as an untyped number (fail safe).
    assert redactor.redact("ditta 12345678901 a posto").text == "ditta [NUMERO] a posto"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("il POD è IT001E12345678", "il POD è [POD]"),
        ("il PDR è 00881234567890 del gas", "il PDR è [PDR] del gas"),
        (
            "abito in via Giuseppe Garibaldi 12, 20121 Milano da anni",
            "abito in [INDIRIZZO] da anni",
        ),
        ("abito in via roma 5", "abito in [INDIRIZZO]"),
        ("e così via, ho pagato 3 rate", "e così via, ho pagato 3 rate"),
        ("mandato via email 3 volte", "mandato via email 3 volte"),
        ("sono nata il 3 marzo 1965 a Napoli", "sono nata il [DATA_NASCITA] a Napoli"),
        ("la scadenza era il 3 marzo 2026", "la scadenza era il 3 marzo 2026"),
        ("mi chiamo giulia bianchi", "mi chiamo [NOME]"),
        ("Buongiorno, sono Marta", "Buongiorno, sono [NOME]"),
        ("il contratto è intestato a me", "il contratto è intestato a me"),
        ("il numero è 0039 320 987 6543", "il numero è [TELEFONO]"),
        ("la bolletta del 03/04/2026", "la bolletta del 03/04/2026"),
    ],
)
def test_italian_recognizers(text, expected):
    assert redactor.redact(text).text == expected


def test_spoken_digits_are_read_as_numbers():
    assert parse_number_word("trecentoquarantasette") == 347
    assert parse_number_word("millenovecentosessantacinque") == 1965
    assert parse_number_word("ventuno") == 21 and parse_number_word("ventiuno") is None
    spoken = "il fisso è zero sei quattro quattro cinque sei sette otto nove"
    assert normalise_numbers(spoken).text == "il fisso è 0 6 4 4 5 6 7 8 9"
    # "sei" alone is "you are", "Mille" inside a sentence is a street name.
    assert normalise_numbers("sei sicuro? via dei Mille").text == "sei sicuro? via dei Mille"
    assert redactor.redact(spoken).text == "il fisso è [TELEFONO]"


def test_agency_names_on_the_allow_list_stay():
    text = "Buongiorno, sono Marta di Aurora Crediti"
    assert "Aurora Crediti" not in Redactor().redact(text).text
    kept = Redactor(allow_list=["Aurora Crediti"]).redact(text).text
    assert kept == "Buongiorno, sono [NOME] di Aurora Crediti"


def test_pseudonyms_are_consistent_within_an_interview():
    memory = Pseudonyms()
    first = redactor.redact("mi chiamo Giulia Bianchi, numero 347 218 5590", memory).text
    second = redactor.redact("chiedete di Giulia Bianchi o di Marco al 347 218 5590", memory).text
    assert first == "mi chiamo [NOME_1], numero [TELEFONO_1]"
    assert second == "chiedete di [NOME_1] o di [NOME_2] al [TELEFONO_1]"


def test_unknown_entity_type_is_a_config_error():
    with pytest.raises(ValueError, match="unknown entity"):
        Redactor(["PASSPORT"])
