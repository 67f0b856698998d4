"""Generate ascolto's SYNTHETIC demo: Italian interviews voiced by festival, manifest and case outcomes.

Needs Debian's festival with the Italian voices (apt-get install festival festvox-italp16k
festvox-itapc16k) and the project's venv (PyAV encodes Opus). Deterministic for a given --seed:

    .venv/bin/python scripts/make_demo.py --out demo

Writes demo/recordings/*.ogg, demo/manifest.csv, demo/cases.csv and demo/labels.jsonl (the source
text of every utterance with its sentiment and themes: the demo is also a labelled fixture).
Every person, number and agency in it is invented.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import tempfile
import wave
from datetime import date, timedelta
from pathlib import Path

import av
import numpy as np
import yaml

SAMPLE_RATE = 16_000
INTERVIEWER_VOICE = "voice_pc_diphone"  # festvox-itapc16k, male
CUSTOMER_VOICE = "voice_lp_diphone"  # festvox-italp16k, female
THREAT_CODES = {"LEGAL_THREAT", "INTIMIDATION", "AGGRESSION", "UNDUE_PRESSURE"}
NPS_WORDS = [
    "zero",
    "uno",
    "due",
    "tre",
    "quattro",
    "cinque",
    "sei",
    "sette",
    "otto",
    "nove",
    "dieci",
]
PER_AGENCY = 15
EXTRA_CASES_PER_AGENCY = 25


def synthesize(text: str, voice: str, workdir: Path) -> np.ndarray:
    """Speak one sentence with festival and return float32 mono samples at 16 kHz."""
    src = workdir / "line.txt"
    out = workdir / "line.wav"
    src.write_bytes(text.encode("latin-1"))  # festival's Italian front end reads ISO-8859-1
    subprocess.run(
        ["text2wave", "-eval", f"({voice})", str(src), "-o", str(out)],
        check=True,
        capture_output=True,
    )
    with wave.open(str(out)) as w:
        assert w.getframerate() == SAMPLE_RATE and w.getnchannels() == 1
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return pcm.astype(np.float32) / 32768.0


def encode_opus(samples: np.ndarray, path: Path) -> None:
    """Write (channels, n) float32 samples as Ogg/Opus, small enough to commit."""
    channels = samples.shape[0]
    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48_000)
        stream.bit_rate = 20_000 * channels
        stream.layout = layout
        resampler = av.AudioResampler(format="s16", layout=layout, rate=48_000)
        pcm16 = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(
            pcm16.T.reshape(1, -1).copy(), format="s16", layout=layout
        )
        frame.sample_rate = SAMPLE_RATE
        for resampled in resampler.resample(frame):
            for packet in stream.encode(resampled):
                container.mux(packet)
        for resampled in resampler.resample(None):
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def pick_theme(mix: dict[str, float], rng: random.Random, exclude: set[str]) -> str:
    """Draw a theme group from an agency's mix, avoiding groups already used."""
    codes = [c for c in mix if c not in exclude]
    return rng.choices(codes, weights=[mix[c] for c in codes])[0]


def plan_interview(bank: dict, agency: dict, rng: random.Random, with_pii: bool) -> list[dict]:
    """Choose the turns of one interview: who speaks and which labelled line."""
    q = bank["interviewer"]
    lines = bank["lines"]
    first = pick_theme(agency["mix"], rng, set())
    second = pick_theme(agency["mix"], rng, {first})
    answer1 = [rng.choice(lines[first])]
    if rng.random() < 0.5:
        third = pick_theme(agency["mix"], rng, {first, second})
        answer1.append(rng.choice(lines[third]))
    answer2 = [rng.choice(lines[second])]
    if with_pii:
        answer2.append(rng.choice(bank["pii_lines"]))
    customer = answer1 + answer2
    feeling = _overall(customer)
    nps = {
        "positive": rng.randint(8, 10),
        "negative": rng.randint(0, 5),
        "neutral": rng.randint(5, 8),
    }
    score = nps[feeling]
    turns = [
        {"role": "interviewer", "text": q["opening"]},
        {"role": "customer", "lines": answer1},
        {"role": "interviewer", "text": q["follow_up"]},
        {"role": "customer", "lines": answer2},
        {"role": "interviewer", "text": q["nps"]},
        {
            "role": "customer",
            "lines": [{"text": f"Direi {NPS_WORDS[score]}.", "sentiment": "neutral", "themes": []}],
            "nps": score,
        },
        {"role": "interviewer", "text": q["closing_question"]},
        {"role": "customer", "lines": [rng.choice(bank["closing"][feeling])]},
        {"role": "interviewer", "text": q["goodbye"]},
    ]
    return turns


def _overall(lines: list[dict]) -> str:
    counts = {"positive": 0, "negative": 0, "neutral": 0}
    for line in lines:
        counts[line["sentiment"]] += 1
    if counts["negative"] > counts["positive"]:
        return "negative"
    if counts["positive"] > counts["negative"]:
        return "positive"
    return "neutral"


def render(turns: list[dict], stereo: bool, rng: random.Random, workdir: Path) -> np.ndarray:
    """Voice the turns; stereo puts the interviewer left and the customer right."""
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    for turn in turns:
        if turn["role"] == "interviewer":
            speech = synthesize(turn["text"], INTERVIEWER_VOICE, workdir)
        else:
            text = " ".join(line["text"] for line in turn["lines"])
            speech = synthesize(text, CUSTOMER_VOICE, workdir)
        gap = np.zeros(int(SAMPLE_RATE * rng.uniform(0.4, 0.9)), dtype=np.float32)
        silent = np.zeros_like(speech)
        if turn["role"] == "interviewer":
            left += [speech, gap]
            right += [silent, gap]
        else:
            left += [silent, gap]
            right += [speech, gap]
    left_ch, right_ch = np.concatenate(left), np.concatenate(right)
    if stereo:
        return np.stack([left_ch, right_ch])
    return (left_ch + right_ch)[None, :]


def case_outcome(
    case_id: str,
    customer_id: str,
    agency_id: str,
    style: str,
    threatened: bool,
    nps: int | None,
    contact: date,
    rng: random.Random,
) -> dict:
    """Outcome of one case. The thesis, with noise: threats lower payment and raise churn."""
    base_pay = {"empathetic": 0.85, "mixed": 0.65, "aggressive": 0.55}[style]
    p_pay = base_pay - (0.25 if threatened else 0.0)
    p_churn = 0.35 if threatened else {"empathetic": 0.05, "mixed": 0.12, "aggressive": 0.15}[style]
    due_amount = round(rng.lognormvariate(5.3, 0.6), 2)
    due = contact - timedelta(days=rng.randint(40, 90))
    paid = rng.random() < p_pay
    recovered = 0.0
    paid_date = ""
    if paid:
        recovered = (
            due_amount if rng.random() < 0.8 else round(due_amount * rng.uniform(0.3, 0.9), 2)
        )
        delay = rng.randint(45, 80) if style == "empathetic" else rng.randint(55, 120)
        paid_date = (due + timedelta(days=delay)).isoformat()
    ended = ""
    if rng.random() < p_churn:
        ended = (contact + timedelta(days=rng.randint(5, 80))).isoformat()
    return {
        "case_id": case_id,
        "customer_id": customer_id,
        "agency_id": agency_id,
        "amount_due_eur": f"{due_amount:.2f}",
        "amount_recovered_eur": f"{recovered:.2f}",
        "due_date": due.isoformat(),
        "paid_date": paid_date,
        "contract_ended_date": ended,
        "annual_value_eur": f"{rng.uniform(400, 1600):.2f}",
        "nps": "" if nps is None else str(nps),
        "contact_date": contact.isoformat(),
    }


def main() -> None:
    """Build the demo folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    bank = yaml.safe_load((Path(__file__).parent / "demo_bank.yaml").read_text(encoding="utf-8"))
    rng = random.Random(args.seed)
    rec_dir = args.out / "recordings"
    rec_dir.mkdir(parents=True, exist_ok=True)
    manifest, cases, labels = [], [], []
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for agency_id, agency in bank["agencies"].items():
            for i in range(PER_AGENCY):
                n += 1
                stereo = n % 3 == 0
                for _attempt in range(10):  # re-plan until the interview fits 20-58 s
                    turns = plan_interview(bank, agency, rng, with_pii=(i % 5 == 2))
                    audio = render(turns, stereo, rng, workdir)
                    if 20 * SAMPLE_RATE <= audio.shape[1] <= 58 * SAMPLE_RATE:
                        break
                duration = audio.shape[1] / SAMPLE_RATE
                name = f"intervista_{n:03d}.ogg"
                encode_opus(audio, rec_dir / name)
                case_id, customer_id = f"K26-{n:04d}", f"C{n:05d}"
                contact = date(2026, 9, 1) + timedelta(days=rng.randint(0, 80))
                interview_day = contact + timedelta(days=rng.randint(2, 6))
                manifest.append(
                    {
                        "file": name,
                        "case_id": case_id,
                        "agency_id": agency_id,
                        "interview_date": interview_day.isoformat(),
                        "consent": "yes",
                    }
                )
                customer_lines = [ln for t in turns if t["role"] == "customer" for ln in t["lines"]]
                threatened = any(THREAT_CODES & set(ln["themes"]) for ln in customer_lines)
                nps = next(t["nps"] for t in turns if "nps" in t)
                cases.append(
                    case_outcome(
                        case_id,
                        customer_id,
                        agency_id,
                        agency["style"],
                        threatened,
                        nps,
                        contact,
                        rng,
                    )
                )
                labels.append(
                    {
                        "file": name,
                        "agency_id": agency_id,
                        "stereo": stereo,
                        "duration_s": round(duration, 2),
                        "threatened": threatened,
                        "sentiment": _overall(customer_lines),
                        "turns": [
                            {
                                "role": t["role"],
                                "text": t.get("text") or " ".join(x["text"] for x in t["lines"]),
                                **({"lines": t["lines"]} if t["role"] == "customer" else {}),
                            }
                            for t in turns
                        ],
                    }
                )
                print(f"{name} {agency_id} {'stereo' if stereo else 'mono'} {duration:.1f}s")
            for _ in range(EXTRA_CASES_PER_AGENCY):
                k = 500 + len(
                    cases
                )  # cases the interviewers did not reach: ids after the interviews'
                cases.append(
                    case_outcome(
                        f"K26-{k:04d}",
                        f"C{k:05d}",
                        agency_id,
                        agency["style"],
                        threatened=rng.random()
                        < {"empathetic": 0.05, "mixed": 0.3, "aggressive": 0.6}[agency["style"]],
                        nps=None,
                        contact=date(2026, 9, 1) + timedelta(days=rng.randint(0, 80)),
                        rng=rng,
                    )
                )
    _write_csv(args.out / "manifest.csv", manifest)
    _write_csv(args.out / "cases.csv", cases)
    with (args.out / "labels.jsonl").open("w", encoding="utf-8") as fh:
        for row in labels:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
