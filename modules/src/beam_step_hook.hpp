// The types of varscope::testing::beam_search_step, the test hook declared in
// modules/testing.cppm (module varscope.testing) and defined in modules/src/seq2seq.cpp.
// Included inside `extern "C++" {` by both, after `import varscope;` / `module varscope;`:
// the structs are attached to the global module, so the two inclusions define the
// same types (one definition, as for a header), and `import varscope;` alone does not
// see them. Needs <cstdint> in the including file's global module fragment.
namespace varscope::testing {

/// TF's BeamSearchDecoderState, batch major: row b, beam k is index [b, k].
struct BeamStepState {
  Tensor cell_state;  ///< float32 [B * K, H]
  Tensor log_probs;   ///< float32 [B, K]: unpenalised sums of token log-probabilities
  Tensor finished;    ///< int32 [B, K]: 1 = finished (TF's bool)
  Tensor lengths;     ///< int32 [B, K] (TF's int64)
};

/// TF's BeamSearchDecoderOutput of one step.
struct BeamStepOutput {
  Tensor scores;         ///< float32 [B, K]
  Tensor predicted_ids;  ///< int32 [B, K]
  Tensor parent_ids;     ///< int32 [B, K]
};

struct BeamStep {
  BeamStepOutput output;
  BeamStepState next_state;
};

}  // namespace varscope::testing
