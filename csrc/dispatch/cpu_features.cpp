// CPU feature detection: cpuid for the instruction sets, xgetbv for OS support of the
// register state (a CPU with AVX-512 under an OS that does not save ZMM state cannot
// use it).
#include "fastnn/dispatch.h"

#if defined(FASTNN_X86)
#include <cpuid.h>
#endif

namespace fastnn {

#if defined(FASTNN_X86)
namespace {

struct Regs { unsigned a = 0, b = 0, c = 0, d = 0; };

Regs cpuid(unsigned leaf, unsigned sub) {
  Regs r;
  __cpuid_count(leaf, sub, r.a, r.b, r.c, r.d);
  return r;
}

unsigned long long xgetbv0() {
  unsigned lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
}

bool bit(unsigned v, int i) { return (v >> i) & 1u; }

struct Features {
  bool avx2 = false, avx512 = false;
  Features() {
    if (__get_cpuid_max(0, nullptr) < 7) return;
    Regs l1 = cpuid(1, 0);
    const bool osxsave = bit(l1.c, 27), avx = bit(l1.c, 28), fma = bit(l1.c, 12);
    if (!osxsave || !avx) return;
    const unsigned long long xcr0 = xgetbv0();
    const bool os_ymm = (xcr0 & 0x6) == 0x6;           // SSE + AVX state
    const bool os_zmm = (xcr0 & 0xE6) == 0xE6;         // + opmask, ZMM_Hi256, Hi16_ZMM
    Regs l7 = cpuid(7, 0);
    avx2 = os_ymm && fma && bit(l7.b, 5);
    const bool f = bit(l7.b, 16), dq = bit(l7.b, 17), bw = bit(l7.b, 30), vl = bit(l7.b, 31);
    avx512 = avx2 && os_zmm && f && dq && bw && vl;
  }
};

const Features& features() {
  static const Features f;
  return f;
}

}  // namespace

bool cpu_supports(Isa isa) {
  switch (isa) {
    case Isa::generic: return true;
    case Isa::avx2: return features().avx2;
    case Isa::avx512: return features().avx512;
  }
  return false;
}
#else
bool cpu_supports(Isa isa) { return isa == Isa::generic; }
#endif

Isa best_isa() {
  if (cpu_supports(Isa::avx512) && isa_compiled(Isa::avx512)) return Isa::avx512;
  if (cpu_supports(Isa::avx2) && isa_compiled(Isa::avx2)) return Isa::avx2;
  return Isa::generic;
}

}  // namespace fastnn
