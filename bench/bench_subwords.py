"""Words against word pieces (issue 23): two text encoders of 09_clip, measured on MNIST's 10,000 test digits alone
(no pipeline): zero-shot accuracy for the plain class prompts, for misspelt digit words one edit away (those the
typo augmentation writes and those it never writes, apart: `held_out_typo`), and the synonym search of 09 ("the top
ten digits for 'the thickest D' have more ink than those for 'the thinnest D'") for word forms training never writes.
Run: python bench/bench_subwords.py --encoders words=PATH subwords=PATH [...]
Writes nbs/figures/subwords.json (shown in 09_clip)."""
import argparse, json, random, sys
from pathlib import Path
import torch
from minidiff.core import cpu_kind
from minidiff.clip import load_clip, DIGIT_WORDS, digit_properties, fix_articles, held_out_typo, grammar_words
from minidiff.data import random_digits

FORMS = [('ink', 'the thickest {d}', 'the thinnest {d}'), ('ink', 'a thicker {d}', 'a thinner {d}'),
         ('ink', 'a bolder {d}', 'a lighter {d}'), ('area', 'a bigger {d}', 'a smaller {d}'),
         ('area', 'the biggest {d}', 'the smallest {d}'), ('area', 'a larger {d}', 'a tinier {d}')]

def one_edit(word:str)->list[str]:
    "Every spelling one edit from `word` (a letter dropped, doubled, swapped with the next, or replaced), known words aside."
    out = {word[:i] + word[i+1:] for i in range(len(word))} | {word[:i] + word[i] + word[i:] for i in range(len(word))}
    out |= {word[:i] + word[i+1] + word[i] + word[i+2:] for i in range(len(word) - 1)}
    out |= {word[:i] + c + word[i+1:] for i in range(len(word)) for c in 'abcdefghijklmnopqrstuvwxyz' if c != word[i]}
    return sorted(out - grammar_words() - {word})

@torch.no_grad()
def measure(clip, x, y, draws:int=20)->dict:
    img = clip.encode_images(x)
    acc = lambda prompts: ((img @ clip.encode_text(prompts).T).argmax(1).cpu() == y).float().mean().item()
    out = dict(zero_shot_plain=round(acc([fix_articles(f'a {w}') for w in DIGIT_WORDS]), 4))
    rng = random.Random(0)
    for kind, keep in (('typos_written_in_training', False), ('typos_never_written', True)):
        pools = [[t for t in one_edit(w) if held_out_typo(t) == keep] for w in DIGIT_WORDS]
        out[f'zero_shot_{kind}'] = round(sum(acc([fix_articles(f'a {rng.choice(p)}') for p in pools]) for _ in range(draws))/draws, 4)
    p = digit_properties(x)
    top = lambda prompt: (img @ clip.encode_text(prompt)[0]).topk(10).indices.cpu()
    forms = {}
    for prop, hi, lo in FORMS:
        forms[f'{hi} / {lo}'.replace('{d}', 'D')] = sum(bool(p[prop][top(fix_articles(hi.format(d=w)))].mean() >
                                                             p[prop][top(fix_articles(lo.format(d=w)))].mean()) for w in DIGIT_WORDS)/10
    out['word_forms'] = round(sum(forms.values())/len(forms), 4)
    out['word_forms_by_pair'] = forms
    return out

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--encoders', nargs='+', required=True, help='NAME=PATH pairs')
    ap.add_argument('--out', default=str(Path(__file__).parents[1]/'nbs/figures/subwords.json'))
    a = ap.parse_args()
    x, y = random_digits()
    res = dict(command='python bench/bench_subwords.py ' + ' '.join(sys.argv[1:]), machine=cpu_kind())
    for spec in a.encoders:
        name, path = spec.split('=', 1)
        res[name] = measure(load_clip(path, device='cpu'), x, y)
        print(name, res[name], flush=True)
    Path(a.out).write_text(json.dumps(res, indent=1) + '\n')
    print('wrote', a.out)

if __name__ == '__main__': main()
