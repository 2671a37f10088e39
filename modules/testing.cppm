// varscope.testing — test hooks into the library, kept out of `import varscope;`.
// A separate named module (target varscope_testing, built with the tests, never
// installed): tests/numerics_test.cpp, tests/checkpoint_test.cpp and
// tests/tf_ported/tf_seq2seq_test.cpp `import varscope.testing;`.
//
// The declarations are `extern "C++"`, i.e. attached to the global module, so they
// name the same functions the library defines in its implementation units (also
// inside `extern "C++"`: modules/src/kernels.cpp, modules/src/checkpoint.cpp,
// modules/src/seq2seq.cpp, modules/src/runtime/openmp_team.cpp) without
// `varscope` exporting them. tests/CMakeLists.txt's hooks_not_exported test checks that
// `import varscope;` alone does not see them.
module;
#include <cstddef>
#include <cstdint>
#include <string>
export module varscope.testing;
import varscope;

export extern "C++" {
// BeamStepState, BeamStepOutput, BeamStep: shared with modules/src/seq2seq.cpp.
#include "src/beam_step_hook.hpp"

namespace varscope::testing {

/// The readable reference product: a triple loop accumulating in double.
/// out = a @ b (+ out when accumulate), [M, K] @ [K, N] -> [M, N]; the oracle
/// matmul_into and matmul_packed_into are checked against.
void matmul_reference_into(ConstMatrixView a, ConstMatrixView b, MatrixView out, bool accumulate = false);
/// out = a @ b, always through Eigen's GEMM (the dispatch's large-rows path checked on its own).
void matmul_eigen_into(ConstMatrixView a, ConstMatrixView b, MatrixView out);
/// The thread count OpenBLAS runs its own products with (openblas_get_num_threads); 0 when
/// the build has no BLAS. varscope holds it at 1 from the moment the library loads.
int blas_threads() noexcept;

/// When set, save() / write_checkpoint() call it with the temp file's path after the
/// temp file is written, flushed and closed and just before the rename; a non-zero
/// return is taken as that errno (e.g. ENOSPC) and the save fails exactly as a failed
/// write or rename does (tests/checkpoint_test.cpp injects a failed save with it).
using BeforeRenameHook = int (*)(const std::string& temp_path);
/// Installs `hook` process-wide; nullptr (the default) clears it.
void set_before_rename_hook(BeforeRenameHook hook) noexcept;

/// Bytes the checkpoint reader reads from a file at a time (1 MiB by default; 0
/// restores it); returns the previous value. Process-wide, for readers created
/// afterwards. The fuzzer and checkpoint_stream_test put refills at every offset with it.
std::size_t set_checkpoint_read_block_bytes(std::size_t bytes) noexcept;

/// One step of dynamic_decode(BeamSearchDecoder) on given logits: TF's internal
/// `_beam_search_step(time, logits, next_cell_state, beam_state, batch_size,
/// beam_width, end_token, length_penalty_weight)`, which TF's beam_search_decoder_test.py
/// calls directly (tests/tf_ported/tf_seq2seq_test.cpp ports those tests with it).
/// logits float32 [B, K, V] (K = options.beam_width; only unfinished beams' rows are
/// read, as the decoder computes logits for those only); next_cell_state float32
/// [B * K, H], the cell's new state of every beam. Runs the decoder's own candidate
/// selection and reordering (modules/src/seq2seq.cpp: select_top_k, reorder_by_parents),
/// options' length penalty and min_length included.
BeamStep beam_search_step(const Tensor& logits, const Tensor& next_cell_state, const BeamStepState& beam_state,
                          std::int32_t end_token, const BeamSearchOptions& options);

/// How many parallel regions (teams of more than one thread) varscope has opened in this
/// process (modules/src/runtime/openmp_team.cpp), so a test can check that its shapes
/// really split over the threads rather than passing on the serial path.
std::int64_t parallel_regions_opened() noexcept;

/// How many products varscope has handed to OpenBLAS in this process (natively; 0 in a build
/// without BLAS), so a test can check which path a product took.
std::int64_t blas_products_started() noexcept;

}  // namespace varscope::testing
}
