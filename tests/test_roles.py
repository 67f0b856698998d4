import pytest

from pipeline.asr.roles import ScriptMatcher, assign_mono, assign_stereo, to_turns
from pipeline.config import load_settings, load_yaml
from pipeline.records import Segment


@pytest.fixture(scope="module")
def matcher() -> ScriptMatcher:
    settings = load_settings()
    return ScriptMatcher(tuple(load_yaml(settings.interview_file)["questions"]), 0.45)


def test_stereo_channels_follow_the_map():
    by_channel = {
        0: [Segment(0, 2, "domanda")],
        1: [Segment(2.5, 4, "risposta"), Segment(5, 6, "altro")],
    }
    tagged = assign_stereo(by_channel, {0: "interviewer", 1: "customer"})
    assert [(s.role, s.channel) for s in tagged] == [
        ("interviewer", 0),
        ("customer", 1),
        ("customer", 1),
    ]


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("Come si è sentito durante la telefonata?", "interviewer"),
        ("Da zero a dieci quanto consiglierebbe l'azienda a un amico", "interviewer"),
        (
            "c'è altro che vuole aggiungere",
            "interviewer",
        ),  # lower case, no punctuation, as ASR gives
        ("Mi hanno minacciato di mandarmi l'avvocato", "customer"),
        ("Direi dieci.", "unknown"),  # one scripted word is not enough
    ],
)
def test_script_matching(matcher, text, role):
    assert matcher.role(text) == role


def test_turn_taking_gives_a_lone_unclear_answer_to_the_customer(matcher):
    segments = [
        Segment(0, 3, "Da zero a dieci, quanto consiglierebbe l'azienda a un amico?"),
        Segment(3, 4, "Direi dieci."),
        Segment(4, 6, "C'è altro che vuole aggiungere?"),
        Segment(6, 7, "Direi dieci."),
    ]
    roles = [s.role for s in assign_mono(segments, matcher)]
    assert roles == ["interviewer", "customer", "interviewer", "unknown"]


def test_turns_merge_consecutive_segments_of_one_speaker():
    segments = [
        Segment(0, 1, "a", "customer"),
        Segment(1, 2, "b", "customer", low_confidence=True),
        Segment(2, 3, "c", "interviewer"),
    ]
    turns = to_turns(segments)
    assert [(t.role, t.text, t.low_confidence) for t in turns] == [
        ("customer", "a b", True),
        ("interviewer", "c", False),
    ]
