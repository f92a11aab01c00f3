// Common types and the per-ISA namespace macro.
//
// Sources under csrc/gemm, csrc/ops and csrc/optim are compiled once per instruction
// set (see CMakeLists.txt).  Each compilation defines FASTNN_ISA_NS to one of
// `generic`, `avx2`, `avx512`, and every definition in those files lives in
// namespace fastnn::FASTNN_ISA_NS so the copies never collide at link time.
#pragma once
#include <cstddef>
#include <cstdint>

namespace fastnn {

using index_t = std::int64_t;

enum class Isa : int { generic = 0, avx2 = 1, avx512 = 2 };
constexpr int kNumIsa = 3;

inline const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::generic: return "generic";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

}  // namespace fastnn

// Opens/closes the namespace of the ISA being compiled.
#ifdef FASTNN_ISA_NS
#define FASTNN_ISA_BEGIN namespace fastnn { namespace FASTNN_ISA_NS {
#define FASTNN_ISA_END } }
#endif

// Declares `decl` inside each ISA namespace (used by dispatch to reach every copy).
#if defined(__x86_64__) || defined(_M_X64)
#define FASTNN_X86 1
#define FASTNN_FOR_EACH_ISA_DECL(decl) \
  namespace fastnn { namespace generic { decl; } namespace avx2 { decl; } namespace avx512 { decl; } }
#else
#define FASTNN_FOR_EACH_ISA_DECL(decl) namespace fastnn { namespace generic { decl; } }
#endif
