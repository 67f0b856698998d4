-- The ascolto warehouse: one table per stage output, keyed by recording id plus the stage's key.
CREATE TABLE IF NOT EXISTS recordings (
    recording_id VARCHAR PRIMARY KEY, file VARCHAR, case_id VARCHAR, agency_id VARCHAR,
    interview_date DATE, manifest_row INTEGER, first_seen TIMESTAMP);
ALTER TABLE recordings ADD COLUMN IF NOT EXISTS case_id_as_written VARCHAR;
ALTER TABLE recordings ADD COLUMN IF NOT EXISTS agency_id_as_written VARCHAR;
CREATE TABLE IF NOT EXISTS cases (
    case_id VARCHAR PRIMARY KEY, customer_id VARCHAR, agency_id VARCHAR, amount_due_eur DOUBLE,
    amount_recovered_eur DOUBLE, due_date DATE, paid_date DATE, contract_ended_date DATE,
    annual_value_eur DOUBLE, nps INTEGER, contact_date DATE);
CREATE TABLE IF NOT EXISTS quarantine (
    run_id VARCHAR, stage VARCHAR, source VARCHAR, row_number INTEGER, reason VARCHAR, quarantined_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS transcripts (
    recording_id VARCHAR, transcript_key VARCHAR, backend VARCHAR, model VARCHAR, language VARCHAR,
    duration_s DOUBLE, channels INTEGER, elapsed_s DOUBLE, n_segments INTEGER,
    redacted_counts VARCHAR, created_at TIMESTAMP, PRIMARY KEY (recording_id, transcript_key));
-- Columns added after v0.1: existing stores gain them in place.
ALTER TABLE transcripts ADD COLUMN IF NOT EXISTS detected_language VARCHAR;
ALTER TABLE transcripts ADD COLUMN IF NOT EXISTS language_probability DOUBLE;
ALTER TABLE transcripts ADD COLUMN IF NOT EXISTS language_mismatch BOOLEAN;
CREATE TABLE IF NOT EXISTS segments (
    recording_id VARCHAR, transcript_key VARCHAR, seg_idx INTEGER, start_s DOUBLE, end_s DOUBLE,
    channel INTEGER, role VARCHAR, text VARCHAR, avg_logprob DOUBLE, no_speech_prob DOUBLE,
    compression_ratio DOUBLE, low_confidence BOOLEAN);
CREATE TABLE IF NOT EXISTS utterances (
    recording_id VARCHAR, transcript_key VARCHAR, utt_idx INTEGER, role VARCHAR, start_s DOUBLE,
    end_s DOUBLE, text VARCHAR, low_confidence BOOLEAN);
CREATE TABLE IF NOT EXISTS utterance_labels (
    recording_id VARCHAR, utt_idx INTEGER, classify_key VARCHAR, sentiment VARCHAR,
    p_positive DOUBLE, p_neutral DOUBLE, p_negative DOUBLE, themes VARCHAR[],
    theme_scores VARCHAR, threatened BOOLEAN, evidence VARCHAR);
-- Why the label needs an analyst (NULL: it does not); added with classifier heads format 2.
ALTER TABLE utterance_labels ADD COLUMN IF NOT EXISTS uncertain VARCHAR;
CREATE TABLE IF NOT EXISTS interview_labels (
    recording_id VARCHAR, classify_key VARCHAR, sentiment VARCHAR, themes VARCHAR[],
    threatened BOOLEAN, empathy_score DOUBLE, n_utterances INTEGER, quotes VARCHAR);
ALTER TABLE interview_labels ADD COLUMN IF NOT EXISTS n_uncertain INTEGER;
CREATE TABLE IF NOT EXISTS embeddings (
    recording_id VARCHAR, utt_idx INTEGER, embed_key VARCHAR, vector FLOAT[]);
CREATE TABLE IF NOT EXISTS topic_models (
    topics_key VARCHAR PRIMARY KEY, fitted_at TIMESTAMP, n_docs INTEGER, n_topics INTEGER,
    method VARCHAR, note VARCHAR);
CREATE TABLE IF NOT EXISTS topic_info (
    topics_key VARCHAR, topic_id INTEGER, label VARCHAR, size INTEGER, top_words VARCHAR,
    quotes VARCHAR);
CREATE TABLE IF NOT EXISTS topic_assignments (
    topics_key VARCHAR, recording_id VARCHAR, utt_idx INTEGER, topic_id INTEGER);
CREATE TABLE IF NOT EXISTS topic_generations (
    lineage VARCHAR, seq INTEGER, topics_key VARCHAR, created_at TIMESTAMP, model_dir VARCHAR,
    mapping VARCHAR, kept INTEGER[], added INTEGER[], vanished INTEGER[]);
CREATE TABLE IF NOT EXISTS topic_names (
    lineage VARCHAR, topic_id INTEGER, label VARCHAR, renamed_at TIMESTAMP);
-- One row per (topic assignment, classification): topic x agency / month / threatened / sentiment.
CREATE OR REPLACE VIEW topic_utterances AS
SELECT a.topics_key, a.topic_id, a.recording_id, a.utt_idx, r.agency_id, r.interview_date,
       date_trunc('month', r.interview_date) AS month, l.classify_key, l.sentiment, l.threatened
FROM topic_assignments a JOIN recordings r USING (recording_id)
LEFT JOIN utterance_labels l ON l.recording_id = a.recording_id AND l.utt_idx = a.utt_idx;
CREATE TABLE IF NOT EXISTS scorecards (
    run_id VARCHAR, agency_id VARCHAR, metrics VARCHAR);
-- Inputs accepted but worth a look (a case without outcome, an agency mismatch...).
CREATE TABLE IF NOT EXISTS warnings (
    run_id VARCHAR, stage VARCHAR, source VARCHAR, row_number INTEGER, message VARCHAR, warned_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS erased (kind VARCHAR, key VARCHAR, erased_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS deletions (
    deleted_at TIMESTAMP, action VARCHAR, reason VARCHAR, recordings INTEGER, cases INTEGER,
    total_rows INTEGER, rows_by_table VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR,
    config_hash VARCHAR, summary VARCHAR);
-- Analysts' reviews of customer utterance labels (`ascolto review`): one row per quote, the latest
-- verdict. Kept across reruns and refits (only forget and purge delete them); `text_sha256` is the
-- hash of the quote's redacted text when reviewed: a review applies only while the words match.
CREATE TABLE IF NOT EXISTS reviews (
    recording_id VARCHAR, utt_idx INTEGER, text_sha256 VARCHAR, reviewer VARCHAR,
    reviewed_at TIMESTAMP, verdict VARCHAR, classify_key VARCHAR, model_sentiment VARCHAR,
    model_threatened BOOLEAN, model_themes VARCHAR[], sentiment VARCHAR, threatened BOOLEAN,
    themes VARCHAR[]);
