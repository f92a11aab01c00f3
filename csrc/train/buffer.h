// A 64-byte aligned, zero-initialized array that owns its memory (no per-step allocation:
// buffers are sized once per batch size and reused).
#pragma once
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "fastnn/common.h"

namespace fastnn {
namespace train {

template <class T>
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(index_t n) { resize(n); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept { swap(o); }
  Buffer& operator=(Buffer&& o) noexcept { swap(o); return *this; }
  ~Buffer() { std::free(p_); }

  // Discards the contents; the new contents are zero.
  void resize(index_t n) {
    std::free(p_);
    p_ = nullptr;
    n_ = 0;
    if (n <= 0) return;
    const std::size_t bytes = ((std::size_t(n) * sizeof(T) + 63) / 64) * 64;
    p_ = static_cast<T*>(std::aligned_alloc(64, bytes));
    if (!p_) throw std::bad_alloc();
    std::memset(static_cast<void*>(p_), 0, bytes);
    n_ = n;
  }
  T* data() { return p_; }
  const T* data() const { return p_; }
  index_t size() const { return n_; }
  T& operator[](index_t i) { return p_[i]; }
  const T& operator[](index_t i) const { return p_[i]; }

 private:
  void swap(Buffer& o) noexcept { std::swap(p_, o.p_); std::swap(n_, o.n_); }
  T* p_ = nullptr;
  index_t n_ = 0;
};

}  // namespace train
}  // namespace fastnn
