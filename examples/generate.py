"""Generate the example documents in examples/ from a running llama.cpp server.

Standard library only. Called by examples/make_example.sh, which installs the pinned
packages, starts examples/serve.py on 127.0.0.1 and stops it afterwards.

    python examples/generate.py --base-url http://127.0.0.1:PORT [--out-dir examples] [--only NAME]
    python examples/generate.py --check-only [--out-dir examples]

For every example it writes two files:
  <name>.md                 the generated text, byte for byte as the server returned it
                            (no newline added, nothing stripped)
  <name>.md.logprobs.json   the raw HTTP response body, exactly as received

Every request below is fixed (prompt, seed, sampling settings), so rerunning the script on the
same machine with the same pinned wheels reproduces the files. "cache_prompt": false makes each
request evaluate its prompt from scratch, so the result does not depend on what the server
computed before.
"""

import argparse
import json
import sys
import urllib.parse
import urllib.request

# --------------------------------------------------------------------------------------------
# Example 1: literature review, OpenAI-compatible /v1/chat/completions with logprobs.
#
# SmolLM2-135M-Instruct does not follow a bare "write a review with citations" instruction
# (it loops, or writes no citations), so the request shows it one worked example turn
# (a review of word-embedding papers, written by hand, with real citations) and then asks
# for the review on transformer language models. Only the model's answer to the last turn
# is saved; the citations in that answer are the model's own (mostly fabricated).
# --------------------------------------------------------------------------------------------

LIT_EXAMPLE_USER = (
    "Write a short literature review on the history of word embeddings, "
    "with author-year citations and a numbered reference list."
)

LIT_EXAMPLE_ASSISTANT = """# Word Embeddings: A Short Review

Distributed representations of words go back to the neural language model of Bengio and colleagues (Bengio et al., 2003), who learned a vector for every word jointly with a next-word predictor. Ten years later, Tomas Mikolov showed that much simpler log-linear models could be trained on billions of words (Mikolov et al., 2013), and that vector arithmetic captured analogies.

Pennington, Socher and Manning then derived embeddings from global co-occurrence counts (Pennington et al., 2014). Subword information was added by Bojanowski et al. (2017), which helped with rare words and morphologically rich languages.

## References

1. Bengio, Y., Ducharme, R., Vincent, P., & Jauvin, C. (2003). A neural probabilistic language model. Journal of Machine Learning Research, 3, 1137-1155.
2. Mikolov, T., Chen, K., Corrado, G., & Dean, J. (2013). Efficient estimation of word representations in vector space. arXiv:1301.3781.
3. Pennington, J., Socher, R., & Manning, C. D. (2014). GloVe: Global vectors for word representation. EMNLP 2014. doi:10.3115/v1/D14-1162.
4. Bojanowski, P., Grave, E., Joulin, A., & Mikolov, T. (2017). Enriching word vectors with subword information. TACL, 5, 135-146. doi:10.1162/tacl_a_00051."""

LIT_USER = (
    "Now write a short literature review (about 300 words) on the history of transformer "
    "language models in the same format: author-year citations in the text, then a References "
    "section with a numbered list that gives DOIs or arXiv ids."
)

LIT_REQUEST = {
    "messages": [
        {"role": "user", "content": LIT_EXAMPLE_USER},
        {"role": "assistant", "content": LIT_EXAMPLE_ASSISTANT},
        {"role": "user", "content": LIT_USER},
    ],
    "logprobs": True,
    "top_logprobs": 20,
    "temperature": 0.7,
    "seed": 21,  # chosen from seeds 1-27 for length, citations and a reference list
    "max_tokens": 600,
    "repeat_penalty": 1.15,  # llama.cpp extension; without it the 135M model loops
    "cache_prompt": False,  # llama.cpp extension; see the module docstring
}

# --------------------------------------------------------------------------------------------
# Example 2: short biography, llama.cpp native /completion with n_probs.
# /completion takes a raw prompt, so the model's ChatML chat template is written out here
# (the same text the server's template would produce). The saved document is the response's
# "content" field.
# --------------------------------------------------------------------------------------------

BIO_USER = (
    "Write a short biography of Marie Curie in one paragraph of about 100 words, "
    "with the dates of her birth, her two Nobel Prizes and her death."
)
BIO_PROMPT = (
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
    f"<|im_start|>user\n{BIO_USER}<|im_end|>\n"
    "<|im_start|>assistant\n"
)

BIO_REQUEST = {
    "prompt": BIO_PROMPT,
    "n_probs": 10,
    "temperature": 0.7,
    "seed": 1,  # chosen from seeds 1-12: stops by itself (EOS), has dates and accented names
    "n_predict": 300,
    "repeat_penalty": 1.15,
    "cache_prompt": False,
}

EXAMPLES = [
    # (name, endpoint path, request body, how to get the text out of the response)
    ("literature-review", "/v1/chat/completions", LIT_REQUEST,
     lambda r: r["choices"][0]["message"]["content"]),
    ("biography", "/completion", BIO_REQUEST, lambda r: r["content"]),
]


def post(base_url, path, body, timeout):
    req = urllib.request.Request(
        base_url + path,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.read()


def entries_of(resp):
    """The per-token entries, whichever of the two response shapes this is."""
    if "choices" in resp:
        return resp["choices"][0]["logprobs"]["content"], "top_logprobs"
    return resp["completion_probabilities"], "top_logprobs"


def completion_tokens_of(resp):
    if "usage" in resp:
        return resp["usage"]["completion_tokens"]
    return resp["tokens_predicted"]


def check(name, out_dir):
    """Compare the concatenated `bytes` of the entries with the saved .md bytes; print counts."""
    md = open(f"{out_dir}/{name}.md", "rb").read()
    resp = json.loads(open(f"{out_dir}/{name}.md.logprobs.json", "rb").read())
    entries, top_key = entries_of(resp)
    joined = b"".join(bytes(e["bytes"]) for e in entries)
    n_top = sum(1 for e in entries if e.get(top_key))
    empty = [i for i, e in enumerate(entries) if not e["bytes"]]
    merged = [i for i, e in enumerate(entries)
              if len(e["bytes"]) > 0 and e["token"].encode("utf-8") != bytes(e["bytes"])]
    print(f"{name}: {len(md)} bytes, {len(md.decode('utf-8').split())} words")
    print(f"  entries: {len(entries)}, with {top_key}: {n_top}, "
          f"completion tokens reported: {completion_tokens_of(resp)}")
    print(f"  entries with empty bytes (e.g. EOS): {empty}")
    print(f"  entries whose token string != bytes (partial/merged UTF-8): {merged}")
    if joined == md:
        print("  concatenated bytes == .md bytes: yes")
        return True
    i = next((k for k in range(min(len(joined), len(md))) if joined[k] != md[k]),
             min(len(joined), len(md)))
    print(f"  concatenated bytes == .md bytes: NO ({len(joined)} vs {len(md)} bytes, "
          f"first difference at byte {i}: {joined[i:i + 20]!r} vs {md[i:i + 20]!r})")
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", help="http://127.0.0.1:PORT of a running llama.cpp server")
    ap.add_argument("--out-dir", default="examples")
    ap.add_argument("--only", help="generate only this example")
    ap.add_argument("--check-only", action="store_true")
    ap.add_argument("--timeout", type=float, default=900.0)
    a = ap.parse_args()

    names = [e[0] for e in EXAMPLES if not a.only or e[0] == a.only]
    if not a.check_only:
        if not a.base_url:
            ap.error("--base-url is required unless --check-only")
        host = urllib.parse.urlsplit(a.base_url).hostname
        if host not in ("127.0.0.1", "localhost"):
            sys.exit(f"refusing non-loopback server {a.base_url}")
        for name, path, body, text_of in EXAMPLES:
            if name not in names:
                continue
            print(f"generating {name} via POST {path} ...", flush=True)
            raw = post(a.base_url, path, body, a.timeout)
            text = text_of(json.loads(raw))
            with open(f"{a.out_dir}/{name}.md.logprobs.json", "wb") as f:
                f.write(raw)
            with open(f"{a.out_dir}/{name}.md", "wb") as f:
                f.write(text.encode("utf-8"))
    ok = all([check(n, a.out_dir) for n in names])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
