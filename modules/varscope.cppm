// varscope — primary module interface. `import varscope;` gives the whole
// public API; each partition holds one concept. They are listed (and exported
// below) in dependency order: a partition's interface imports only partitions
// above it, and its implementation unit (modules/src/<name>.cpp) uses only what
// its interface imports, directly or transitively. tools/check-layering.py checks
// both (CTest `layering`); an implementation never defines what a lower partition
// declares for it. The date task and model are not here: `import varscope.dates;`
// (examples/dates/; the task alone is the module varscope.dates.data).
//   :errors  typed exceptions and "did you mean"
//   :parallel the thread count (set_num_threads, VARSCOPE_NUM_THREADS) and parallel_for
//   :tensor  DType, Shape, Tensor
//   :init    initializers, seeded RNG, eager constant tensors (zeros, ones, fill)
//   :context the calling thread's frames (default graph, variable scope, name stack), creator label
//   :store   Graph, Variable, VariableStore, VariableRequest, collections, audits, frozen mode,
//            get_default_graph, eager random ops (random_uniform / random_normal: the graph's op seed)
//   :autograd GradientTape: eager reverse-mode gradients (summed over every use)
//   :scope   variable_scope, name_scope, get_variable, custom getters
//   :kernels matrix views and the matmul kernels (reference, small-rows, packed SIMD, BLAS), PackedWeights
//   :ops     value ops (matmul, concat, gather, softmax, top_k, ...)
//   :nest    TF's nest: State / StateSize (a tensor or tuples), LSTMStateTuple, CellOutput,
//            flatten / map_structure / zero_state / tile_batch, the packed [B, S] state layout
//   :loss    sparse softmax cross-entropy, sequence_loss
//   :train   optimizers (GradientDescent, Adam), global_step, clip_by_global_norm
//   :layers  layer scopes, Dense / dense()
//   :rnn     the RNNCell interface (packed state, output separate from state), GRU cells (TF and
//            reset-after layouts), the one recurrence loop, dynamic_rnn
//   :lstm    BasicLSTMCell, LSTMCell (peepholes, cell clipping, projection)
//   :wrappers cells made of cells: MultiRNNCell, ResidualWrapper, DropoutWrapper
//   :attention BahdanauAttention, LuongAttention, AttentionWrapper and its state
//   :seq2seq helpers, BasicDecoder, BeamSearchDecoder, dynamic_decode, gather_tree
//   :checkpoint JSON checkpoints: save, restore (strict/lenient/dry run, remapping), list
export module varscope;
export import :errors;
export import :parallel;
export import :tensor;
export import :init;
export import :context;
export import :store;
export import :autograd;
export import :scope;
export import :kernels;
export import :ops;
export import :nest;
export import :loss;
export import :train;
export import :layers;
export import :rnn;
export import :lstm;
export import :wrappers;
export import :attention;
export import :seq2seq;
export import :checkpoint;
