// Implementation of varscope:tensor — shape arithmetic, checked sizes, printing.
module;
#include <cstdint>
#include <new>
#if defined(__linux__) && !defined(__EMSCRIPTEN__)
#include <sys/mman.h>
#endif
#include <cstring>
#include <mutex>
#include <array>
#include <utility>
#include <limits>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <algorithm>
#include <type_traits>
#include <variant>
#include <vector>
module varscope;

namespace varscope {

namespace {
constexpr std::size_t kHugeThreshold = std::size_t{4} << 20;
constexpr std::align_val_t kSmallAlignment{64}, kHugeAlignment{std::size_t{2} << 20};

// Freed blocks of 64 KiB and more are kept for the next request of the same size or up to 1/8 smaller
// (a training step frees and re-requests the same large buffers — logits,
// their gradient, the output layer's weight gradient — every step; returning
// them to the OS cost a fault per page on every step: ~16% of a medium-shape
// step). Blocks of 64 KiB-1 MiB count too: glibc's malloc maps them or trims them
// off the top of its heap once a step frees them all, and the date model (hidden 64)
// faulted them back in every step (a third of its step time). Bounded (kCacheLimit
// bytes, kCacheSlots blocks); whole blocks, never split, so nothing fragments. Off
// under AddressSanitizer, which must see every free.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VARSCOPE_NO_BLOCK_CACHE 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define VARSCOPE_NO_BLOCK_CACHE 1
#endif
constexpr std::size_t kCacheMinBlock = std::size_t{64} << 10;  // tests/alloc_test.cpp
constexpr std::size_t kCacheLimit = std::size_t{256} << 20;

constexpr std::size_t kCacheSlots = 64;

struct BlockCache {
  std::mutex mutex;
  // (bytes, block) pairs in a fixed array: caching or reusing a block allocates nothing.
  std::array<std::pair<std::size_t, void*>, kCacheSlots> blocks{};
  std::size_t count = 0;
  std::size_t bytes = 0;
  // Blocks handed to a smaller request (block, its real size): free_tensor_bytes is told the
  // request's size, and this gives back the block's.
  std::array<std::pair<void*, std::size_t>, kCacheSlots> loaned{};
  std::size_t loaned_count = 0;
};
// Never destroyed: tensors in static storage are freed after static destructors run.
BlockCache& block_cache() {
  static BlockCache* cache = new BlockCache;
  return *cache;
}

void* allocate_fresh(std::size_t bytes) {
  if (bytes < kHugeThreshold) return ::operator new(bytes, kSmallAlignment);
  void* p = ::operator new(bytes, kHugeAlignment);
#if defined(__linux__) && !defined(__EMSCRIPTEN__) && defined(MADV_HUGEPAGE)
  (void)::madvise(p, bytes, MADV_HUGEPAGE);  // a hint: failure changes nothing
#endif
  return p;
}

void free_block(void* p, std::size_t bytes) noexcept {
  ::operator delete(p, bytes < kHugeThreshold ? kSmallAlignment : kHugeAlignment);
}
}  // namespace

void* allocate_tensor_bytes(std::size_t bytes) {
#ifndef VARSCOPE_NO_BLOCK_CACHE
  if (bytes >= kCacheMinBlock) {
    BlockCache& c = block_cache();
    std::lock_guard lock(c.mutex);
    // The smallest cached block that holds `bytes` and is at most 1/8 larger: a batch whose
    // length changes from step to step (the date model's) asks for slightly different sizes
    // every step, and with exact sizes only each request missed and faulted in fresh pages
    // (17% of a date-model training step).
    std::size_t best = c.count;
    for (std::size_t i = 0; i < c.count; ++i) {
      const std::size_t size = c.blocks[i].first;
      if (size >= bytes && size - bytes <= size / 8 && (best == c.count || size < c.blocks[best].first)) best = i;
      if (size == bytes) break;
    }
    const bool exact = best < c.count && c.blocks[best].first == bytes;
    if (best < c.count && (exact || c.loaned_count < kCacheSlots)) {
      const auto [size, p] = c.blocks[best];
      c.blocks[best] = c.blocks[--c.count];
      c.bytes -= size;
      if (!exact) c.loaned[c.loaned_count++] = {p, size};
      return p;
    }
  }
#endif
  return allocate_fresh(bytes);
}

void free_tensor_bytes(void* p, std::size_t bytes) noexcept {
  if (!p) return;
#ifndef VARSCOPE_NO_BLOCK_CACHE
  if (bytes >= kCacheMinBlock) {
    BlockCache& c = block_cache();
    std::lock_guard lock(c.mutex);
    for (std::size_t i = 0; i < c.loaned_count; ++i)
      if (c.loaned[i].first == p) {
        bytes = c.loaned[i].second;  // the block is larger than the request it served
        c.loaned[i] = c.loaned[--c.loaned_count];
        break;
      }
    if (c.bytes + bytes <= kCacheLimit && c.count < kCacheSlots) {
      c.blocks[c.count++] = {bytes, p};
      c.bytes += bytes;
      return;
    }
  }
#endif
  free_block(p, bytes);
}

std::size_t release_cached_tensor_blocks() noexcept {
#ifndef VARSCOPE_NO_BLOCK_CACHE
  BlockCache& c = block_cache();
  std::lock_guard lock(c.mutex);
  const std::size_t released = c.bytes;
  for (std::size_t i = 0; i < c.count; ++i) free_block(c.blocks[i].second, c.blocks[i].first);
  c.count = 0;
  c.bytes = 0;
  return released;
#else
  return 0;
#endif
}

std::size_t cached_tensor_bytes() noexcept {
#ifndef VARSCOPE_NO_BLOCK_CACHE
  BlockCache& c = block_cache();
  std::lock_guard lock(c.mutex);
  return c.bytes;
#else
  return 0;
#endif
}

std::string_view dtype_name(DType dtype) noexcept {
  switch (dtype) {
    case DType::float32: return "float32";
    case DType::int32: return "int32";
  }
  return "unknown";
}

DType parse_dtype(std::string_view name) {
  if (name == "float32") return DType::float32;
  if (name == "int32") return DType::int32;
  throw InvalidArgumentError("unknown dtype \"" + std::string(name) +
                             "\": varscope supports \"float32\" and \"int32\"");
}

bool Shape::fully_defined() const noexcept {
  if (!rank_known_) return false;
  for (auto d : dims_)
    if (d < 0) return false;
  return true;
}

std::int64_t Shape::num_elements() const { return checked_num_elements(*this, "tensor"); }

bool Shape::compatible_with(const Shape& other) const noexcept {
  if (!rank_known_ || !other.rank_known_) return true;
  if (dims_.size() != other.dims_.size()) return false;
  for (std::size_t i = 0; i < dims_.size(); ++i)
    if (dims_[i] >= 0 && other.dims_[i] >= 0 && dims_[i] != other.dims_[i]) return false;
  return true;
}

std::string Shape::to_string() const {
  if (!rank_known_) return "<unknown>";
  std::string out = "[";
  for (std::size_t i = 0; i < dims_.size(); ++i) {
    if (i) out += ", ";
    out += dims_[i] < 0 ? std::string("?") : std::to_string(dims_[i]);
  }
  return out + "]";
}

std::ostream& operator<<(std::ostream& os, DType dtype) { return os << dtype_name(dtype); }
std::ostream& operator<<(std::ostream& os, const Shape& shape) { return os << shape.to_string(); }
std::ostream& operator<<(std::ostream& os, const Tensor& tensor) { return os << tensor.to_string(); }

std::int64_t checked_num_elements(const Shape& shape, std::string_view what) {
  if (!shape.rank_known())
    throw InvalidArgumentError(std::string(what) + ": shape has unknown rank; give every dimension");
  std::int64_t count = 1;
  for (std::size_t axis = 0; axis < shape.rank(); ++axis) {
    const std::int64_t d = shape[axis];
    if (d < 0)
      throw InvalidArgumentError(std::string(what) + ": dimension " + std::to_string(axis) + " of shape " +
                                 shape.to_string() + " is " + (d == kUnknownDim ? "unknown" : std::to_string(d)) +
                                 "; every dimension must be >= 0");
    if (d != 0 && count > kMaxElements / d)
      throw InvalidArgumentError(std::string(what) + ": shape " + shape.to_string() + " has more than " +
                                 std::to_string(kMaxElements) + " elements (the per-tensor limit)");
    count *= d;
  }
  return count;
}

Tensor::Tensor(DType dtype, const Shape& shape)
    : dtype_(dtype), shape_(shape), size_(checked_num_elements(shape, "Tensor")) {
  if (dtype == DType::float32)
    storage_.emplace<TensorStorage<float>>(static_cast<std::size_t>(size_), 0.0f);
  else
    storage_.emplace<TensorStorage<std::int32_t>>(static_cast<std::size_t>(size_), 0);
}

Tensor::Tensor(DType dtype, const Shape& shape, UninitializedTag)
    : dtype_(dtype), shape_(shape), size_(checked_num_elements(shape, "Tensor")) {
  if (dtype == DType::float32)
    storage_.emplace<TensorStorage<float>>(static_cast<std::size_t>(size_));
  else
    storage_.emplace<TensorStorage<std::int32_t>>(static_cast<std::size_t>(size_));
}

Tensor Tensor::uninitialized(DType dtype, const Shape& shape) { return Tensor(dtype, shape, UninitializedTag{}); }

namespace {
template <class T>
void check_count(const Shape& shape, std::int64_t size, const T& values) {
  if (static_cast<std::int64_t>(values.size()) != size)
    throw ShapeMismatchError("Tensor: shape " + shape.to_string() + " needs " + std::to_string(size) +
                             " values but " + std::to_string(values.size()) + " were given");
}
}  // namespace

Tensor::Tensor(const Shape& shape, const std::vector<float>& values)
    : dtype_(DType::float32), shape_(shape), size_(checked_num_elements(shape, "Tensor")) {
  check_count(shape_, size_, values);
  storage_ = TensorStorage<float>(values.begin(), values.end());
}

Tensor::Tensor(const Shape& shape, const std::vector<std::int32_t>& values)
    : dtype_(DType::int32), shape_(shape), size_(checked_num_elements(shape, "Tensor")) {
  check_count(shape_, size_, values);
  storage_ = TensorStorage<std::int32_t>(values.begin(), values.end());
}

Tensor::Tensor(const Shape& shape, TensorStorage<float> values)
    : dtype_(DType::float32), shape_(shape), size_(checked_num_elements(shape, "Tensor")) {
  check_count(shape_, size_, values);
  storage_ = std::move(values);
}

Tensor::Tensor(const Shape& shape, TensorStorage<std::int32_t> values)
    : dtype_(DType::int32), shape_(shape), size_(checked_num_elements(shape, "Tensor")) {
  check_count(shape_, size_, values);
  storage_ = std::move(values);
}

void Tensor::check_dtype(DType wanted) const {
  if (wanted != dtype_)
    throw DTypeMismatchError("Tensor: accessed as " + std::string(dtype_name(wanted)) + " but it holds " +
                             std::string(dtype_name(dtype_)) + " values (shape " + shape_.to_string() + ")");
}

void Tensor::check_single_element() const {
  if (size_ != 1)
    throw InvalidArgumentError("Tensor::item: the tensor has shape " + shape_.to_string() + " (" +
                               std::to_string(size_) +
                               " values), but item() reads a single element; read several values with "
                               "data<T>(), or reduce them to one first (e.g. reduce_sum)");
}

bool Tensor::bitwise_equal(const Tensor& other) const noexcept {
  if (dtype_ != other.dtype_ || shape_ != other.shape_) return false;
  return std::visit(
      [&](const auto& mine) {
        using V = std::decay_t<decltype(mine)>;
        const auto& theirs = std::get<V>(other.storage_);
        return mine.empty() || std::memcmp(mine.data(), theirs.data(), mine.size() * sizeof(mine[0])) == 0;
      },
      storage_);
}

namespace {
template <class T>
std::string format_value(T v) {
  if constexpr (std::is_same_v<T, float>) {
    std::ostringstream os;
    os.precision(std::numeric_limits<float>::max_digits10);
    os << v;
    return os.str();
  } else {
    return std::to_string(v);
  }
}
}  // namespace

std::string Tensor::to_string() const {
  return std::visit(
      [&](const auto& values) {
        std::vector<std::string> cells;
        cells.reserve(values.size());
        std::size_t width = 0;
        for (auto v : values) {
          cells.push_back(format_value(v));
          width = std::max(width, cells.back().size());
        }
        // numpy pads every cell to the widest one, right-aligned.
        for (auto& c : cells) c.insert(0, width - c.size(), ' ');
        const std::size_t rank = shape_.rank();
        if (rank == 0) return cells.empty() ? std::string() : cells[0];
        std::string out;
        std::size_t flat = 0;
        const auto& dims = shape_.dims();
        // Recursive print via explicit recursion lambda.
        auto print = [&](auto&& self, std::size_t axis, std::size_t indent) -> void {
          out += '[';
          for (std::int64_t i = 0; i < dims[axis]; ++i) {
            if (axis + 1 == rank) {
              if (i) out += ' ';
              out += cells[flat++];
            } else {
              if (i) {
                out += std::string(rank - axis - 1, '\n');
                out += std::string(indent + 1, ' ');
              }
              self(self, axis + 1, indent + 1);
            }
          }
          out += ']';
        };
        print(print, 0, 0);
        return out;
      },
      storage_);
}

}  // namespace varscope
