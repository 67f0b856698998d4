"""The report's words for analysts' reviews (kept apart from html.py's long table of labels)."""

REVIEW_LABELS = {
    "it": {
        "review": "Revisione degli analisti",
        "reviewed_labels": "Etichette riviste",
        "review_none": "Nessuna revisione ancora: `ascolto review` apre la pagina in cui gli "
        "analisti confermano o correggono le etichette del modello.",
        "review_intro": "{n} etichette di frasi dei clienti riviste da un analista: la scheda, i "
        "temi e le citazioni usano l'etichetta dell'analista dove c'è. Accordo del modello "
        "(quello di questa esecuzione) con gli analisti sulle frasi riviste:",
        "review_flagged": "Segnalate «minacciato» dal modello",
        "review_precision": "Confermate dall'analista (precisione)",
        "review_missed": "Minacce non viste dal modello",
        "review_sentiment": "Sentimento confermato",
        "review_note": "Dopo `ascolto train --with-reviews` queste frasi sono dati di "
        "addestramento: l'accordo va letto come un limite superiore.",
    },
    "en": {
        "review": "Analysts' review",
        "reviewed_labels": "Labels reviewed",
        "review_none": "No reviews yet: `ascolto review` opens the page where analysts confirm or "
        "correct the model's labels.",
        "review_intro": "{n} customer utterance labels reviewed by an analyst: the scorecard, "
        "themes and quotes use the analyst's label where there is one. Agreement of the model "
        "(this run's) with analysts on the reviewed quotes:",
        "review_flagged": "Flagged 'threatened' by the model",
        "review_precision": "Confirmed by the analyst (precision)",
        "review_missed": "Threats the model missed",
        "review_sentiment": "Sentiment confirmed",
        "review_note": "After `ascolto train --with-reviews` these quotes are training data: read "
        "the agreement as an upper bound.",
    },
}
