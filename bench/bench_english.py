"""Prompts in plain English (issue 36), judged by the course's own classifier, from one pipeline:

- ordinary English around the digit: the 300 most frequent words of the English dictionary (the digit words aside) and
  every word of it one edit from a digit's word, each in "a {word} {digit}" and "{digit}, {word}" with one digit (the
  digits in turn), `--per` digits a prompt: the right digit, and every note that reads a real English word as another
  word (a misreading);
- one-edit misspellings of the digit words, all of them (issue 23's `one_edit`), in "a {t}", "the number {t}" and
  "draw a {t}" in turn: the right digit;
- the warm pipeline's time for 16 digits at 20 steps; with `--against DIR` (a checkout of another version, e.g.
  `git worktree add /tmp/before HEAD~1`), this checkout and that one in turns, each in a fresh process, five rounds.

Run: python bench/bench_english.py [--per 20] [--only english typos time] [--against DIR] [--out FILE] (on an otherwise
idle machine).
Writes nbs/figures/english.json unless --out says otherwise. The English words come from `minidiff.spelling.english()`;
on a version of minidiff without it, from pyspellchecker's list directly (the same words: a run before issue 36)."""
import argparse, json, os, re, subprocess, sys, time, warnings
from pathlib import Path
import torch
from minidiff.core import cpu_kind
from minidiff.clip import DIGIT_WORDS, fix_articles
from minidiff.judge import load_judge, predict
from minidiff.pipeline import LatentDiffusionPipeline, check_prompts
from minidiff.lab import _batched, time_pipeline
sys.path.insert(0, str(Path(__file__).parent))
from bench_subwords import one_edit

def english()->dict:
    "The English words and their counts."
    try:
        from minidiff.spelling import english
        return english()
    except ImportError:   # before issue 36: the same list, read directly
        import gzip, importlib.resources as ir
        d = json.load(gzip.open(ir.files('spellchecker')/'resources'/'en.json.gz'))
        return {w: f for w, f in d.items() if re.fullmatch('[a-z]+', w)}

def edits1(word:str)->set:
    "Damerau's four edits (Norvig): every string one edit from `word`."
    a = 'abcdefghijklmnopqrstuvwxyz'
    s = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return ({l + r[1:] for l, r in s if r} | {l + r[1] + r[0] + r[2:] for l, r in s if len(r) > 1} |
            {l + c + r[1:] for l, r in s if r for c in a} | {l + c + r for l, r in s for c in a}) - {word}

def test_words(E:dict)->tuple[list, list]:
    "The 300 most frequent English words (digit words aside), and every English word one edit from a digit's word."
    top = [w for w in sorted(E, key=lambda w: (-E[w], w)) if w not in DIGIT_WORDS][:300]
    near = sorted({w for d in DIGIT_WORDS for w in edits1(d) if w in E} - set(DIGIT_WORDS))
    return top, near

def misreadings(pipe, prompts:list, E:dict)->list:
    "The notes, over `prompts` one at a time, that read a real English word as another word: (prompt, word, read as)."
    out = []
    for p in prompts:
        with warnings.catch_warnings(record=True) as ws:
            warnings.simplefilter('always')
            check_prompts(p, clip=pipe.clip)
        for w in ws:
            for a, b in re.findall(r"read '([a-z]+)' as '([a-z]+)'", str(w.message)):
                if a in E and a != b: out.append((p, a, b))
    return out

TIMER = '''
import json, sys
from minidiff.pipeline import LatentDiffusionPipeline
from minidiff.lab import time_pipeline
pipe = LatentDiffusionPipeline.from_pretrained(device='cpu')
print(json.dumps([round(time_pipeline(pipe, sys.argv[1], 16, 20), 4) for _ in range(3)]))
'''

def timed_in_turns(prompt:str, against:str, rounds:int=5)->dict:
    "Seconds for 16 digits of `prompt`, this checkout against the one at `against`, in fresh processes, in turns."
    here, out = str(Path(__file__).resolve().parents[1]), {'this': [], 'against': []}
    for _ in range(rounds):
        for name, path in (('against', against), ('this', here)):
            env = {**os.environ, 'PYTHONPATH': path}
            r = subprocess.run([sys.executable, '-c', TIMER, prompt], env=env, cwd='/', capture_output=True, text=True, check=True)
            out[name] += json.loads(r.stdout.strip().splitlines()[-1])
    med = {k: sorted(v)[len(v)//2] for k, v in out.items()}
    return dict(prompt=prompt, **out, median=med, ratio=round(med['this']/med['against'], 3))

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--per', type=int, default=20, help='digits a prompt (N = 20 in the issue)')
    p.add_argument('--only', nargs='*', default=None, help='sections: english typos time')
    p.add_argument('--against', default=None, help='a checkout of another version, timed in turns with this one')
    p.add_argument('--out', default=str(Path(__file__).parents[1]/'nbs/figures/english.json'))
    a = p.parse_args()
    only = set(a.only or 'english typos time'.split())
    pipe, judge, E = LatentDiffusionPipeline.from_pretrained(device='cpu'), load_judge(), english()
    res = dict(command='python bench/bench_english.py ' + ' '.join(sys.argv[1:]), machine=cpu_kind(), per=a.per,
               english_words=len(E))
    t0 = time.time()
    if 'english' in only:
        top, near = test_words(E)
        for name, ws in (('frequent', top), ('one_edit_from_a_digit', near)):
            ps, ds = [], []
            for i, w in enumerate(ws):
                d = DIGIT_WORDS[i % 10]
                ps += [fix_articles(f'a {w} {d}'), f'{d}, {w}']; ds += [i % 10]*2
            P = [q for q in ps for _ in range(a.per)]
            right = (predict(judge, _batched(pipe, P)*2 - 1) == torch.tensor([d for d in ds for _ in range(a.per)]))
            by_prompt = right.view(len(ps), a.per).float().mean(1)
            bad = misreadings(pipe, ps, E)
            res[name] = dict(words=len(ws), prompts=len(ps), n=len(P), accuracy=round(right.float().mean().item(), 4),
                             worst=[(ps[i], round(by_prompt[i].item(), 2)) for i in by_prompt.argsort()[:12].tolist()],
                             misreadings=len(bad), misread_examples=bad[:12])
            print(name, res[name], flush=True)
    if 'typos' in only:
        ps, ds = [], []
        for d, w in enumerate(DIGIT_WORDS):
            for j, t in enumerate(one_edit(w)):
                ps.append(fix_articles(('a {t}', 'the number {t}', 'draw a {t}')[j % 3].format(t=t))); ds.append(d)
        right = predict(judge, _batched(pipe, ps)*2 - 1) == torch.tensor(ds)
        res['typos'] = dict(n=len(ps), accuracy=round(right.float().mean().item(), 4),
                            wrong=[ps[i] for i in (~right).nonzero().flatten().tolist()][:40])
        print('typos', res['typos'], flush=True)
    if 'time' in only:
        if a.against:
            res['seconds_16_digits'] = [timed_in_turns(q, a.against) for q in ('a thick seven', 'a pretty thick sevn')]
            res['against'] = a.against
        else: res['seconds_16_digits'] = [round(time_pipeline(pipe, 'a thick seven', 16, 20), 4) for _ in range(3)]
        print('time', res['seconds_16_digits'], flush=True)
    res['wall_s'] = round(time.time() - t0)
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print('wrote', a.out)

if __name__ == '__main__': main()
