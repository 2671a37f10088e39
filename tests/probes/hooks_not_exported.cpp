// A translation unit that must NOT compile: the test hooks of modules/testing.cppm are
// reachable only through `import varscope.testing;`, never through `import varscope;`.
// The hooks_not_exported test (tests/check_compile_fails.cmake) builds it and passes only
// when the compiler rejects every line marked `// must not compile`, and nothing else.
import varscope;

int main() {
  varscope::ConstMatrixView a;
  varscope::MatrixView out;
  varscope::matmul_reference_into(a, a, out);           // must not compile (exported by :kernels until 0.4)
  varscope::matmul_eigen_into(a, a, out);               // must not compile (likewise)
  varscope::detail::set_before_rename_hook(nullptr);    // must not compile (exported by :checkpoint until 0.4)
  varscope::testing::matmul_reference_into(a, a, out);  // must not compile (the hooks' home, not visible here)
  varscope::testing::matmul_eigen_into(a, a, out);      // must not compile
  varscope::testing::set_before_rename_hook(nullptr);   // must not compile
  varscope::testing::BeamStepState state;               // must not compile (the beam-step hook's types)
  (void)varscope::testing::beam_search_step;            // must not compile
  return 0;
}
