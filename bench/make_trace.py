#!/usr/bin/env python3
"""Write a synthetic document and its OpenAI Chat Completions logprobs sidecar.

Stdlib only and deterministic (fixed seed): the same arguments give byte-identical files.

    python3 bench/make_trace.py                      # bench/out/doc.md + doc.md.logprobs.json, K=5
    python3 bench/make_trace.py --top 20 --out bench/out/top20

The document is English-like prose built from a word list: headings, paragraphs, sentences,
numbers, years, capitalised names and author-year citations such as "(Smith et al., 2019)".
It is split into word-piece tokens (a leading space + word, some words split in two,
punctuation tokens, paragraph breaks) whose concatenated bytes equal the document exactly.

Every token carries `top_logprobs` with K alternatives sorted by logprob. The distributions
are peaked (most positions have a top choice above 0.9, some are flat) and the listed
alternatives never sum to 1, so the residual mass outside the list is always > 0. The chosen
token is drawn from the full distribution: usually it is the top listed alternative, sometimes a
lower one, and with probability equal to the residual mass it is not listed at all (its
logprob is then below every listed alternative's).

The JSON is written compactly (separators "," and ":"), as the OpenAI Python SDK's
`model_dump_json()` saves a response; it is streamed, so memory stays small even for K=20.
"""

import argparse
import json
import math
import os
import random
import sys

FUNCTION_WORDS = """the of and to in a is that for it as was with be by on not he this are or
his from at which but have an they one you were her all she there would their we him been has
when who will more no if out so said what up its about into than them can only other new some
could time these two may then do first any my now such like our over man me even most made after
also did many before must through back years where much your way well down should because each
just those people how too little state good very make world still own see men work long get here
between both life being under never day same another know while last might us great old year off
come since against go came right used take three""".split()

CONTENT_WORDS = """model data system analysis results method approach study evidence network
training evaluation performance language research distribution sample measure process structure
function value parameter problem question theory experiment observation pattern signal response
feature layer representation context sequence token probability estimate uncertainty variance
error baseline benchmark dataset corpus document sentence paragraph argument claim source reference
citation author journal article section figure table appendix outcome effect factor condition
treatment population region country economy market policy government history period century
decade growth decline increase reduction change difference comparison relationship association
correlation regression classification prediction inference decision strategy framework mechanism
component module interface protocol algorithm computation memory storage latency throughput
capacity resource budget cost benefit risk assessment review report summary conclusion discussion
limitation assumption hypothesis interpretation explanation description definition principle
property attribute category instance example exception boundary threshold interval range scale
level degree rate ratio proportion fraction percentage average median deviation quantile estimate
temperature pressure energy density velocity acceleration frequency amplitude wavelength spectrum
molecule protein enzyme receptor tissue organism species habitat climate rainfall drought harvest
river mountain valley coast island village city province border treaty alliance conflict reform
election parliament minister court tribunal statute regulation compliance audit committee council
university laboratory institute foundation museum library archive manuscript edition translation
significant substantial considerable moderate limited notable remarkable consistent robust reliable
accurate precise approximate uncertain ambiguous plausible likely unlikely possible necessary
sufficient relevant important critical central primary secondary additional alternative specific
general particular common rare frequent typical unusual early late recent modern ancient historical
contemporary political economic social cultural scientific technical statistical empirical
theoretical practical experimental clinical regional national international global local public
private formal informal explicit implicit direct indirect positive negative higher lower larger
smaller stronger weaker faster slower better worse complete partial initial final previous
subsequent respective corresponding underlying observed reported estimated measured predicted
expected calculated derived obtained collected analysed examined investigated considered proposed
suggested indicated demonstrated revealed confirmed established identified described discussed
presented compared evaluated assessed tested trained validated applied extended improved reduced
increased decreased remained became appeared seemed showed found noted argued claimed concluded
however therefore moreover furthermore nevertheless although whereas thus hence indeed perhaps
approximately roughly nearly almost largely mainly mostly partly fully highly relatively generally
typically usually often sometimes rarely""".split()

SURNAMES = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez
Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores
Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Müller Schmidt Schneider
Fischer Weber Becker Dubois Moreau Laurent Rossi Russo Ferrari Esposito Bianchi Tanaka Suzuki
Takahashi Watanabe Kim Park Chen Wang Zhang Liu Yang Huang Zhao Kowalski Nowak Novák Horvat
Jensen Nielsen Hansen Andersson Johansson Karlsson Virtanen Korhonen Silva Santos Oliveira Pereira
Costa Ivanov Petrov Smirnov Cohen Levi Mizrahi Okafor Mensah Adeyemi""".split()

PLACES = """London Paris Berlin Madrid Rome Vienna Prague Warsaw Stockholm Oslo Helsinki Dublin
Lisbon Athens Cairo Nairobi Lagos Mumbai Delhi Beijing Shanghai Tokyo Seoul Sydney Melbourne
Toronto Montreal Chicago Boston Seattle Denver Austin Atlanta Lima Santiago Bogotá Quito Mexico
Geneva Zürich Kraków Málaga""".split()

MONTHS = """January February March April May June July August September October November
December""".split()

# Zipf-like weights: function words dominate, as in real prose.
VOCAB = FUNCTION_WORDS + CONTENT_WORDS
WEIGHTS = [1.0 / (i + 2) ** 0.9 for i in range(len(FUNCTION_WORDS))] + [
    0.22 / (i + 20) ** 0.6 for i in range(len(CONTENT_WORDS))
]


class Writer:
    """Collects the document as a list of token strings."""

    def __init__(self):
        self.tokens = []
        self.nbytes = 0

    def tok(self, s):
        self.tokens.append(s)
        self.nbytes += len(s.encode("utf-8"))

    def word(self, rng, w, lead=" "):
        """A word with its leading space; long words are sometimes split into two or three pieces."""
        if len(w) >= 9 and rng.random() < 0.5:
            a = rng.randint(2, len(w) - 5)
            b = rng.randint(a + 2, len(w) - 2)
            self.tok(lead + w[:a])
            self.tok(w[a:b])
            self.tok(w[b:])
        elif len(w) >= 5 and rng.random() < 0.5:
            cut = rng.randint(2, len(w) - 2)
            self.tok(lead + w[:cut])
            self.tok(w[cut:])
        else:
            self.tok(lead + w)

    def number(self, rng, lead=" "):
        kind = rng.random()
        if kind < 0.35:
            self.tok(lead + str(rng.randint(1, 99)))
        elif kind < 0.6:  # decimal: " 3", ".", "47"
            self.tok(lead + str(rng.randint(0, 99)))
            self.tok(".")
            self.tok(str(rng.randint(0, 99)).zfill(rng.choice([1, 2])))
        elif kind < 0.8:  # thousands: " 12", ",", "400"
            self.tok(lead + str(rng.randint(1, 999)))
            self.tok(",")
            self.tok(str(rng.randint(0, 999)).zfill(3))
        else:  # percentage
            self.tok(lead + str(rng.randint(1, 99)))
            self.tok("%")


def year(rng):
    return str(rng.randint(1850, 2024))


def citation(w, rng):
    """ (Smith et al., 2019) | (Smith and Chen, 2019) | (Smith, 2019)"""
    w.tok(" (")
    w.tok(rng.choice(SURNAMES))
    form = rng.random()
    if form < 0.5:
        w.tok(" et")
        w.tok(" al")
        w.tok(".,")
    elif form < 0.8:
        w.tok(" and")
        w.tok(" " + rng.choice(SURNAMES))
        w.tok(",")
    else:
        w.tok(",")
    w.tok(" " + year(rng))
    w.tok(")")


def sentence(w, rng, first_in_paragraph):
    n = rng.randint(8, 28)
    words = rng.choices(VOCAB, WEIGHTS, k=n)
    lead = "" if first_in_paragraph else " "
    first = words[0]
    w.word(rng, first[0].upper() + first[1:], lead)
    for i in range(1, n):
        r = rng.random()
        if r < 0.035:
            w.tok(" " + rng.choice(SURNAMES))
        elif r < 0.05:
            w.tok(" in")
            w.tok(" " + year(rng))
        elif r < 0.065:
            w.number(rng)
        elif r < 0.072:
            w.tok(" " + rng.choice(PLACES))
        elif r < 0.076:
            w.tok(" " + rng.choice(MONTHS))
            w.tok(" " + year(rng))
        else:
            w.word(rng, words[i])
        if i < n - 1 and rng.random() < 0.08:
            w.tok(rng.choice([",", ",", ",", ";", ":"]))
    if rng.random() < 0.12:
        citation(w, rng)
    w.tok(rng.choice([".", ".", ".", ".", ".", ".", "?", "!"]) if rng.random() < 0.1 else ".")


def build_document(rng, target_tokens):
    w = Writer()
    section = 0
    while len(w.tokens) < target_tokens:
        if section == 0 or rng.random() < 0.25:
            if w.tokens:
                w.tok("\n\n")
            w.tok("##")
            for t in rng.choices(CONTENT_WORDS, k=rng.randint(2, 5)):
                w.word(rng, t[0].upper() + t[1:])
            w.tok("\n\n")
        else:
            w.tok("\n\n")
        section += 1
        for s in range(rng.randint(3, 9)):
            sentence(w, rng, s == 0)
    w.tok("\n")
    return w


def distribution(rng, k):
    """K listed probabilities, descending, summing to < 1 (peaked, sometimes flat)."""
    u = rng.random()
    if u < 0.70:  # confident
        p1 = 1.0 - rng.betavariate(1.0, 40.0)
    elif u < 0.90:  # somewhat unsure
        p1 = rng.uniform(0.45, 0.9)
    else:  # flat
        p1 = rng.uniform(0.08, 0.45)
    p1 = min(p1, 1.0 - 1e-7)
    ps = [p1]
    rest = 1.0 - p1
    for _ in range(k - 1):
        # Each further alternative takes a share of what is left, always less than the one above.
        share = min(rest * rng.uniform(0.25, 0.7), ps[-1] * rng.uniform(0.3, 0.95))
        ps.append(share)
        rest -= ps[-1]
    return ps  # sum(ps) < 1 by construction


def token_json(tok, lp, top):
    """One content entry as compact JSON (the OpenAI shape)."""
    b = tok.encode("utf-8")
    parts = [
        '{"token":', json.dumps(tok, ensure_ascii=False),
        ',"logprob":', repr(lp),
        ',"bytes":', "[" + ",".join(map(str, b)) + "]",
        ',"top_logprobs":[',
    ]
    alts = []
    for t, l in top:
        tb = t.encode("utf-8")
        alts.append(
            '{"token":' + json.dumps(t, ensure_ascii=False) + ',"logprob":' + repr(l)
            + ',"bytes":[' + ",".join(map(str, tb)) + "]}"
        )
    parts.append(",".join(alts))
    parts.append("]}")
    return "".join(parts)


ALT_POOL = [" " + v for v in VOCAB] + [",", ".", ";", ":", "\n\n", " ("] + [
    " " + s for s in SURNAMES[:40]
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=250_000, help="tokens to generate (≈)")
    ap.add_argument("--top", type=int, default=5, help="alternatives per token (K)")
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    ap.add_argument("--name", default="doc.md")
    args = ap.parse_args()
    if not 1 <= args.top <= 20:
        sys.exit("--top must be 1..20 (the OpenAI limit)")

    # Two generators: the document depends only on the seed, not on K.
    text_rng = random.Random(args.seed)
    lp_rng = random.Random(args.seed * 7919 + args.top)
    w = build_document(text_rng, args.tokens)
    doc = "".join(w.tokens)

    os.makedirs(args.out, exist_ok=True)
    doc_path = os.path.join(args.out, args.name)
    side_path = doc_path + ".logprobs.json"
    with open(doc_path, "w", encoding="utf-8", newline="") as f:
        f.write(doc)

    n_listed = n_unlisted = 0
    with open(side_path, "w", encoding="utf-8", newline="") as f:
        f.write('{"id":"chatcmpl-bench%d","object":"chat.completion","created":1718000000,'
                '"model":"synthetic","choices":[{"index":0,"message":{"role":"assistant",'
                '"content":' % args.seed)
        f.write(json.dumps(doc, ensure_ascii=False))
        f.write(',"refusal":null},"logprobs":{"content":[')
        for i, tok in enumerate(w.tokens):
            ps = distribution(lp_rng, args.top)
            # Draw the chosen token's rank from the whole distribution: listed ones by their p,
            # the residual mass (sum < 1) stands for every unlisted token.
            x = lp_rng.random()
            acc = 0.0
            rank = None
            for j, p in enumerate(ps):
                acc += p
                if x < acc:
                    rank = j
                    break
            others = lp_rng.sample(ALT_POOL, args.top + 1)
            others = [o for o in others if o != tok][: args.top]
            if rank is not None:
                n_listed += 1
                names = others[: args.top - 1]
                names.insert(rank, tok)
                lp = math.log(ps[rank])
            else:
                n_unlisted += 1
                names = others[: args.top]
                lp = math.log(ps[-1] * lp_rng.uniform(0.02, 0.95))
            top = [(n, math.log(p)) for n, p in zip(names, ps)]
            if i:
                f.write(",")
            f.write(token_json(tok, lp, top))
        f.write(']},"finish_reason":"stop"}],"usage":{"prompt_tokens":42,"completion_tokens":%d,'
                '"total_tokens":%d}}' % (len(w.tokens), len(w.tokens) + 42))
        f.write("\n")

    doc_size = os.path.getsize(doc_path)
    side_size = os.path.getsize(side_path)
    print(f"document: {doc_path}  {doc_size} bytes ({doc_size / 2**20:.2f} MiB)")
    print(f"sidecar:  {side_path}  {side_size} bytes ({side_size / 2**20:.2f} MiB)")
    print(f"tokens:   {len(w.tokens)}  top_logprobs K={args.top}  "
          f"chosen listed {n_listed}, unlisted {n_unlisted} "
          f"({100 * n_unlisted / len(w.tokens):.1f}%)")


if __name__ == "__main__":
    main()
