"""Sentiment, themes and "felt threatened": taxonomy, cues, trained heads, training, evaluation."""
