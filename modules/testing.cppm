// varscope.testing — test hooks into the library, kept out of `import varscope;`.
// A separate named module (target varscope_testing, built with the tests, never
// installed): tests/numerics_test.cpp and tests/checkpoint_test.cpp `import varscope.testing;`.
//
// The declarations are `extern "C++"`, i.e. attached to the global module, so they
// name the same functions the library defines in its implementation units (also
// inside `extern "C++"`: modules/src/kernels.cpp, modules/src/checkpoint.cpp) without
// `varscope` exporting them. tests/CMakeLists.txt's hooks_not_exported test checks that
// `import varscope;` alone does not see them.
module;
#include <string>
export module varscope.testing;
import varscope;

export extern "C++" {
namespace varscope::testing {

/// The readable reference product: a triple loop accumulating in double.
/// out = a @ b (+ out when accumulate), [M, K] @ [K, N] -> [M, N]; the oracle
/// matmul_into and matmul_packed_into are checked against.
void matmul_reference_into(ConstMatrixView a, ConstMatrixView b, MatrixView out, bool accumulate = false);
/// out = a @ b, always through Eigen's GEMM (the dispatch's large-rows path checked on its own).
void matmul_eigen_into(ConstMatrixView a, ConstMatrixView b, MatrixView out);

/// When set, save() / write_checkpoint() call it with the temp file's path after the
/// temp file is written, flushed and closed and just before the rename; a non-zero
/// return is taken as that errno (e.g. ENOSPC) and the save fails exactly as a failed
/// write or rename does (tests/checkpoint_test.cpp injects a failed save with it).
using BeforeRenameHook = int (*)(const std::string& temp_path);
/// Installs `hook` process-wide; nullptr (the default) clears it.
void set_before_rename_hook(BeforeRenameHook hook) noexcept;

}  // namespace varscope::testing
}
