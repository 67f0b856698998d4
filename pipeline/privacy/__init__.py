"""Personal data: spoken numbers, Italian PII recognizers, redaction, retention and erasure."""
