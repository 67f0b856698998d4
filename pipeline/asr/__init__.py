"""Speech to text: decoding (PyAV), the Transcriber protocol (faster-whisper | openai-whisper), speaker roles."""
