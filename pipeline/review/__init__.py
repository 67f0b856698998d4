"""Analysts confirm or correct the model's labels (`ascolto review`); reviews then count.

quotes (listing, unsureness, validation) -> app (FastAPI page and JSON API) -> apply (reviews in
scoring and the report, agreement figures); audio (optional playback of a quote's segment).
Training from reviews lives with the classifier: `pipeline/classify/reviews.py`.
"""
