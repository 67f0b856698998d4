from pipeline.topics import readable_label


def test_label_skips_phrases_that_repeat_earlier_words():
    assert readable_label(
        ["trovata", "trovata trovata", "aggiungere", "aggiungere trovata", "bene"]
    ) == ("trovata · aggiungere · bene")
    assert readable_label([]) == ""
