import pytest

from pipeline.redact import Redactor, iban_valid, luhn_valid

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


def test_checksums():
    assert iban_valid("IT60X0542811101000000123456")
    assert not iban_valid("IT61X0542811101000000123456")
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")


def test_unknown_entity_type_is_a_config_error():
    with pytest.raises(ValueError, match="unknown entity"):
        Redactor(["PASSPORT"])
