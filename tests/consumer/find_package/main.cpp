// Downstream use of an installed genpt: the headers and the genpt::genpt
// target come from find_package(genpt), not from the source tree.
#if __has_include(<genpt/genpt.hpp>)
#include <genpt/genpt.hpp>
#endif
#include <genpt/core/log2.hpp>

int main() { return genpt::log2_to_int(12) == 4096 ? 0 : 1; }
