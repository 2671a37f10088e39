// varscope:tensor — DType, Shape and Tensor: a row-major, shape-checked buffer of
// float32 or int32 values. Enough for variables and their initial values; the
// numeric ops that work on tensors live in other partitions.
module;
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <new>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>
export module varscope:tensor;
import :errors;

export namespace varscope {

enum class DType : std::uint8_t { float32, int32 };

/// "float32" / "int32" (TF's names).
[[nodiscard]] std::string_view dtype_name(DType dtype) noexcept;
/// Parses "float32" / "int32"; InvalidArgumentError names the bad string otherwise.
[[nodiscard]] DType parse_dtype(std::string_view name);
[[nodiscard]] constexpr bool is_floating(DType dtype) noexcept { return dtype == DType::float32; }

template <class T>
inline constexpr DType dtype_of = std::is_same_v<T, float> ? DType::float32 : DType::int32;

/// Marks an unknown dimension in a requested shape (TF's `None`).
inline constexpr std::int64_t kUnknownDim = -1;

/// Largest element count a tensor may hold (2^31 - 1); bigger shapes are refused
/// before anything is allocated.
inline constexpr std::int64_t kMaxElements = (std::int64_t{1} << 31) - 1;

/// A tensor shape. `Shape{2, 3}` is [2, 3]; `Shape{}` is a scalar [];
/// `Shape::unknown()` has unknown rank (TF's `shape=None`); kUnknownDim marks an
/// unknown dimension. Only requests may be partially known; tensors never are.
class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims) : dims_(dims) {}
  explicit Shape(std::vector<std::int64_t> dims) : dims_(std::move(dims)) {}
  [[nodiscard]] static Shape unknown() {
    Shape s;
    s.rank_known_ = false;
    return s;
  }

  [[nodiscard]] bool rank_known() const noexcept { return rank_known_; }
  [[nodiscard]] std::size_t rank() const noexcept { return dims_.size(); }
  [[nodiscard]] std::int64_t operator[](std::size_t axis) const { return dims_.at(axis); }
  [[nodiscard]] const std::vector<std::int64_t>& dims() const noexcept { return dims_; }
  /// Rank known and every dimension >= 0.
  [[nodiscard]] bool fully_defined() const noexcept;
  /// Product of the dimensions; requires a fully defined shape.
  [[nodiscard]] std::int64_t num_elements() const;
  /// True when some shape could match both (unknown rank / dims match anything).
  [[nodiscard]] bool compatible_with(const Shape& other) const noexcept;
  /// "[2, 3]", "[?, 3]", "[]" or "<unknown>".
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const Shape&, const Shape&) = default;

 private:
  std::vector<std::int64_t> dims_;
  bool rank_known_ = true;
};

/// Raw storage for tensors: 64-byte aligned; blocks of 4 MiB and more are 2 MiB
/// aligned and marked for transparent huge pages where the OS has them (Linux
/// madvise), so filling a fresh multi-MB tensor (a restored checkpoint, logits)
/// takes one page fault per 2 MiB instead of per 4 KiB. Freed blocks of 64 KiB
/// and more are cached (up to 256 MiB and 64 blocks) for the next request of the same
/// size or up to 1/8 smaller, as a training step makes the same buffers every step;
/// not under AddressSanitizer.
[[nodiscard]] void* allocate_tensor_bytes(std::size_t bytes);
void free_tensor_bytes(void* p, std::size_t bytes) noexcept;
/// Bytes held by the cache of freed tensor blocks (0 under AddressSanitizer).
[[nodiscard]] std::size_t cached_tensor_bytes() noexcept;
/// Returns every cached block to the system allocator; the bytes released.
std::size_t release_cached_tensor_blocks() noexcept;

/// Allocator for tensor storage: 64-byte aligned blocks (one cache line, a full
/// AVX-512 / two AVX2 registers) whose elements are default-initialised, so a
/// kernel that writes every element does not pay for a zero fill first.
template <class T>
struct TensorAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  TensorAllocator() = default;
  template <class U>
  TensorAllocator(const TensorAllocator<U>&) noexcept {}
  [[nodiscard]] T* allocate(std::size_t n) { return static_cast<T*>(allocate_tensor_bytes(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { free_tensor_bytes(p, n * sizeof(T)); }
  /// Value-less construction leaves a float/int uninitialised (default-init).
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(static_cast<Args&&>(args)...);
  }
  friend bool operator==(const TensorAllocator&, const TensorAllocator&) = default;
};

/// The storage of a tensor's values.
template <class T>
using TensorStorage = std::vector<T, TensorAllocator<T>>;

/// A dense row-major tensor that owns its values. Copies are deep.
class Tensor {
 public:
  /// A float32 scalar 0.
  Tensor() : Tensor(DType::float32, Shape{}) {}
  /// Zero-filled. Throws InvalidArgumentError for a shape that is not fully
  /// defined or holds more than kMaxElements values.
  Tensor(DType dtype, const Shape& shape);
  /// Takes ownership of `values`; their count must equal the shape's size.
  /// Copies `values`; their count must equal the shape's size.
  Tensor(const Shape& shape, const std::vector<float>& values);
  Tensor(const Shape& shape, const std::vector<std::int32_t>& values);
  /// Takes ownership of `values` (no copy); their count must equal the shape's size.
  Tensor(const Shape& shape, TensorStorage<float> values);
  Tensor(const Shape& shape, TensorStorage<std::int32_t> values);
  /// Values left uninitialised, for kernels that write every element (matmul,
  /// Dense): saves a pass over memory on large outputs. Read nothing before writing it.
  [[nodiscard]] static Tensor uninitialized(DType dtype, const Shape& shape);

  [[nodiscard]] DType dtype() const noexcept { return dtype_; }
  [[nodiscard]] const Shape& shape() const noexcept { return shape_; }
  [[nodiscard]] std::int64_t size() const noexcept { return size_; }

  /// The values as T; DTypeMismatchError when T is not this tensor's dtype.
  template <class T>
  [[nodiscard]] std::span<T> data() {
    check_dtype(dtype_of<T>);
    return std::get<TensorStorage<T>>(storage_);
  }
  template <class T>
  [[nodiscard]] std::span<const T> data() const {
    check_dtype(dtype_of<T>);
    return std::get<TensorStorage<T>>(storage_);
  }

  /// The value of a one-element tensor (any shape of size 1: [], [1], [1, 1]) as T,
  /// like PyTorch's `loss.item()`: `float loss_value = loss.item<float>();`.
  /// InvalidArgumentError naming the shape when the tensor holds 0 or several values
  /// (read them with data<T>()); DTypeMismatchError when T is not its dtype.
  template <class T>
  [[nodiscard]] T item() const {
    check_single_element();
    return data<T>()[0];
  }

  /// Autograd identity (see :autograd): 0 = not recorded by a GradientTape,
  /// otherwise the id of the tape entry that produced this value. Copied with
  /// the tensor (a copy is the same value); ignored by bitwise_equal. Tapes only
  /// trust ids they handed out, so a stale id from an earlier tape is harmless.
  [[nodiscard]] std::uint64_t tape_id() const noexcept { return tape_id_; }
  void set_tape_id(std::uint64_t id) noexcept { tape_id_ = id; }

  /// Same dtype, shape and bit-identical values.
  [[nodiscard]] bool bitwise_equal(const Tensor& other) const noexcept;
  /// numpy-style text: "[[1 2 3]\n [4 5 6]]" (ints) or "[[0.5 -1.25]]" (floats).
  [[nodiscard]] std::string to_string() const;

 private:
  struct UninitializedTag {};
  Tensor(DType dtype, const Shape& shape, UninitializedTag);
  void check_dtype(DType wanted) const;
  void check_single_element() const;

  DType dtype_;
  Shape shape_;
  std::int64_t size_ = 0;
  std::variant<TensorStorage<float>, TensorStorage<std::int32_t>> storage_;
  std::uint64_t tape_id_ = 0;
};

/// Stream output: dtype name, Shape::to_string(), Tensor::to_string().
std::ostream& operator<<(std::ostream& os, DType dtype);
std::ostream& operator<<(std::ostream& os, const Shape& shape);
std::ostream& operator<<(std::ostream& os, const Tensor& tensor);

/// Checked element count of a shape that will back a tensor (see Tensor(DType, Shape)).
[[nodiscard]] std::int64_t checked_num_elements(const Shape& shape, std::string_view what);

}  // namespace varscope
