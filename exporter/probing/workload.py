"""The prompt of each probe, unique every time, of the size the target's workload asks for.

``tiny`` sends the configured prompt with a nonce. A sized workload generates the prompt:
a nonce, English filler of the requested length, and an instruction asking for a longer
answer than ``max_tokens`` allows, so the output runs to its cap. Leaderboards measure
the same way (Artificial Analysis: a unique prompt per run, about 100, 1,000 or 10,000
input tokens).

Sizes are counted without a tokenizer. The filler uses only short, common English words,
each one token with its leading space in the BPE vocabularies of the major model families,
and every sentence ends in a full stop, one more token: a sentence of ``WORDS_PER_SENTENCE``
words is ``WORDS_PER_SENTENCE + 1`` tokens. The providers' reported prompt tokens show the
real count of each model.

``cache: warm`` puts a fixed filler first (the same for every probe of the target) and the
nonce after it, so a provider's prompt cache can serve everything but the short tail.
"""

from __future__ import annotations

import random
import secrets
from functools import lru_cache

from exporter.config.types import TargetConfig, Workload
from exporter.probing.harness import estimate_tokens

WORDS_PER_SENTENCE = 11
TOKENS_PER_SENTENCE = WORDS_PER_SENTENCE + 1
_WORDS = (
    "the of and to in is was for on with as by at from that this it be are or an have has "
    "not but all one new more time year day way man world life hand part child eye woman "
    "place work week case point home water room mother area money story fact month lot "
    "right study book job word side kind head house friend father power hour game line end "
    "city name team door office road town level river light sea tree stone bird field wind "
    "rain snow song paper table window garden market bridge train boat horse dog cat fish "
    "apple bread milk tea coffee salt sugar oil glass metal gold iron wood fire earth star "
    "moon sun cloud hill lake island forest north south east west small large old young "
    "good great long little high low early late real best free strong clear full open "
    "close quiet warm cold green blue red white black brown dark bright soft hard fast slow "
    "walk run read write build carry hold bring find keep make take give send see hear "
    "feel know think learn teach help move turn stand sit live grow begin show play pay"
)
_VOCABULARY = tuple(_WORDS.split())


def probe_prompt(target: TargetConfig, nonce: str | None = None) -> str:
    """The prompt for one probe of ``target``; ``nonce`` makes it unique (random if None)."""
    nonce = nonce or secrets.token_hex(6)
    workload = target.workload
    if not workload.sized:
        return f"{target.prompt}\n(probe {nonce})"
    instruction = answer_instruction(workload)
    tail = f"(probe {nonce}) {instruction}"
    body_tokens = max(filler_tokens(workload) - estimate_tokens(len(tail)), 1)
    if workload.cache == "warm":
        return f"{warm_prefix(target.name, body_tokens)}\n\n{tail}"
    return f"{tail}\n\n{filler(body_tokens, random.Random(nonce))}"


def answer_instruction(workload: Workload) -> str:
    # Asking for as many words as output tokens asks for about a third more tokens than
    # max_tokens allows (an English word is about 4/3 tokens), so the answer hits its cap.
    return (
        "Ignore the meaning of the filler text in this message. Write an original story of "
        f"at least {workload.output_tokens} words about a lighthouse keeper."
    )


def filler_tokens(workload: Workload) -> int:
    return workload.input_tokens or 0


def estimate_filler_tokens(text: str) -> int:
    """Tokens of text made by ``filler``: one per word and one per full stop."""
    return len(text.split()) + text.count(".")


def filler(tokens: int, rng: random.Random) -> str:
    """English-looking filler of about ``tokens`` tokens (see the module docstring)."""
    sentences, rest = divmod(tokens, TOKENS_PER_SENTENCE)
    lengths = [WORDS_PER_SENTENCE] * sentences
    if rest > 1:
        lengths.append(rest - 1)  # a last, shorter sentence: rest-1 words and a full stop
    words = _VOCABULARY
    out = []
    for n in lengths:
        sentence = " ".join(rng.choice(words) for _ in range(n))
        out.append(sentence[0].upper() + sentence[1:] + ".")
    return " ".join(out)


@lru_cache(maxsize=64)
def warm_prefix(target_name: str, tokens: int) -> str:
    """The fixed filler a ``warm`` target repeats: the same for every probe of the target."""
    return filler(tokens, random.Random(f"llmscope-warm-prefix:{target_name}"))
