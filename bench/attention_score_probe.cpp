// Standalone probe (not a CMake target) for docs/benchmarks.md's "Attention beam search vs PyTorch":
// what the attention score loops of modules/src/attention.cpp (at 4ead911) cost per 30-step decode at
// the medium beam shape (64 rows x T 30 x A 512), against vectorised forms of the same math.
//   clang++-19 -O3 -march=x86-64-v3 -std=c++20 -isystem /usr/include/eigen3 bench/attention_score_probe.cpp \
//     -o /tmp/attention_score_probe && taskset -c 0 /tmp/attention_score_probe
// The keys are one [T, A] block shared by every row here (in cache), so these are compute costs only.
#include <Eigen/Core>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>
int main() {
  const int N = 64, T = 30, A = 512;  // one beam step of Bahdanau: N rows x T x A
  std::vector<float> keys(T * A), q(N * A), v(A), s(N * T);
  for (int i = 0; i < T * A; ++i) keys[i] = std::sin(i * 0.37f);
  for (int i = 0; i < N * A; ++i) q[i] = std::cos(i * 0.11f);
  for (int i = 0; i < A; ++i) v[i] = 0.01f * (i % 17);
  auto run = [&](auto f, const char* name) {
    double best = 1e9;
    for (int rep = 0; rep < 5; ++rep) {
      auto t0 = std::chrono::steady_clock::now();
      for (int step = 0; step < 30; ++step) f();
      best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    double cs = 0; for (float x : s) cs += x;
    std::printf("%-40s %8.1f ms per 30 steps (checksum %.4f)\n", name, best, cs);
  };
  run([&] {  // varscope's loop: scalar std::tanh, serial sum
    for (int i = 0; i < N; ++i)
      for (int t = 0; t < T; ++t) {
        float acc = 0;
        for (int c = 0; c < A; ++c) acc += v[c] * std::tanh(keys[t * A + c] + q[i * A + c]);
        s[i * T + t] = acc;
      }
  }, "scalar std::tanh (as in attention.cpp)");
  std::vector<float> e(T * A);
  run([&] {  // Eigen's vectorised tanh over the row's [T, A] block, then a GEMV with v
    using M = Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
    M K(keys.data(), T, A), E(e.data(), T, A);
    Eigen::Map<Eigen::VectorXf> V(v.data(), A);
    for (int i = 0; i < N; ++i) {
      Eigen::Map<Eigen::RowVectorXf> Q(q.data() + i * A, A);
      E.array() = (K.rowwise() + Q).array().tanh();
      Eigen::Map<Eigen::VectorXf>(s.data() + i * T, T).noalias() = E * V;
    }
  }, "Eigen .tanh() + GEMV");
  run([&] {  // Luong score as in attention.cpp: a scalar serial dot per (row, t)
    for (int i = 0; i < N; ++i)
      for (int t = 0; t < T; ++t) {
        float acc = 0;
        for (int c = 0; c < A; ++c) acc += keys[t * A + c] * q[i * A + c];
        s[i * T + t] = acc;
      }
  }, "Luong score: scalar dot");
  run([&] {  // the K = 4 queries of a source row at once: [K, A] x [A, T] (S7b)
    using M = Eigen::Map<Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
    M K(keys.data(), T, A);
    for (int b = 0; b < N / 4; ++b) {
      M Q(q.data() + b * 4 * A, 4, A), S(s.data() + b * 4 * T, 4, T);
      S.noalias() = Q * K.transpose();
    }
  }, "Luong score: [K, A] x [A, T] per source row");
}
