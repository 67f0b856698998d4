"""Who speaks: the stereo channel map, else matching segments against the interviewer's script.

On mono audio a segment is the interviewer's when most of its content words come from a scripted
question, the customer's when almost none do, and `unknown` in between: a doubtful segment is
never silently given to the customer (whose words are the ones classified).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, replace

from pipeline.records import Role, Segment, Turn

_CUSTOMER_BELOW = 0.2  # similarity under which a segment is confidently not scripted
_MIN_WORD = 4  # shorter words (articles, pronouns) say nothing about the script
_MIN_HITS = 2  # scripted words a segment must share to be the interviewer's


def content_words(text: str) -> list[str]:
    """Lower-cased, accent-folded words long enough to be informative."""
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return [w for w in re.findall(r"[a-z]+", folded) if len(w) >= _MIN_WORD]


def _matched_words(words: list[str], question_words: list[str]) -> int:
    """Words matched one to one: exact first, then a close spelling (ASR slips)."""
    remaining = list(question_words)
    hits = 0
    for word in sorted(words, key=lambda w: w not in remaining):
        match = (
            word
            if word in remaining
            else next(iter(difflib.get_close_matches(word, remaining, 1, 0.8)), None)
        )
        if match is not None:
            remaining.remove(match)
            hits += 1
    return hits


@dataclass(frozen=True)
class ScriptMatcher:
    """Scores how much of a segment comes from the interviewer's scripted questions."""

    questions: tuple[str, ...]
    threshold: float

    def similarity(self, text: str) -> tuple[float, int]:
        """Best share, over questions, of the segment's content words found in one question.

        Returns (share, matched word count); fuzzy matching absorbs small ASR errors.
        """
        words = content_words(text)
        best: tuple[float, int] = (0.0, 0)
        for question in self.questions:
            hits = _matched_words(words, content_words(question))
            if words:
                best = max(best, (hits / len(words), hits))
        return best

    def role(self, text: str) -> Role:
        """Interviewer, customer, or unknown when the match is neither clear nor absent.

        One shared word is never enough for the interviewer: "Direi dieci" answers the NPS
        question with one of its words.
        """
        share, hits = self.similarity(text)
        if share >= self.threshold and hits >= _MIN_HITS:
            return "interviewer"
        if share < _CUSTOMER_BELOW:
            return "customer"
        return "unknown"


def assign_stereo(
    segments_by_channel: dict[int, list[Segment]],
    channel_roles: dict[int, Role],
    matcher: ScriptMatcher | None = None,
) -> list[Segment]:
    """Tag each channel's segments with the role the config maps it to, sorted by time.

    With the interviewer's channel silent (a dead line, both voices mixed on the other one),
    the script heard on the customer's channel is the interviewer's, never the customer's.
    """
    tagged = [
        replace(seg, role=channel_roles.get(channel, "unknown"), channel=channel)
        for channel, segments in segments_by_channel.items()
        for seg in segments
    ]
    if matcher is not None and not any(s.role == "interviewer" for s in tagged):
        tagged = [
            replace(s, role="interviewer")
            if s.role == "customer" and matcher.role(s.text) == "interviewer"
            else s
            for s in tagged
        ]
    return sorted(tagged, key=lambda s: (s.start, s.channel or 0))


def assign_mono(segments: list[Segment], matcher: ScriptMatcher) -> list[Segment]:
    """Tag mono segments by script matching, then by turn-taking.

    An unclear segment standing alone between two interviewer segments is the customer's answer
    to the question before it; any other unclear segment stays `unknown`.
    """
    tagged = [replace(seg, role=matcher.role(seg.text)) for seg in segments]
    for i in range(1, len(tagged) - 1):
        if (
            tagged[i].role == "unknown"
            and tagged[i - 1].role == tagged[i + 1].role == "interviewer"
        ):
            tagged[i] = replace(tagged[i], role="customer")
    return tagged


def to_turns(segments: list[Segment]) -> list[Turn]:
    """Merge consecutive same-role segments into turns."""
    turns: list[Turn] = []
    for seg in segments:
        if turns and turns[-1].role == seg.role:
            last = turns[-1]
            last.end = seg.end
            last.text = f"{last.text} {seg.text}".strip()
            last.low_confidence = last.low_confidence or seg.low_confidence
        else:
            turns.append(Turn(seg.role, seg.start, seg.end, seg.text, seg.low_confidence))
    return turns
