// run_warm: the timed loop of every Google Benchmark in bench/. The body runs once untimed
// first (the model's variables built, its weights packed, its buffers faulted in), then
// Google Benchmark times it, as the PyTorch peers' `timeit` does (one warm-up call, then
// medians). Without the warm-up a ~350 ms medium decode ran 1 iteration per repetition, and
// that iteration built the model: ~4% of the attention beam search's time was its setup.
#pragma once
#include <benchmark/benchmark.h>


template <class Body>
void run_warm(benchmark::State& state, Body&& body) {
  body();
  for (auto _ : state) body();
}
