// bm_support.cpp - the globals start.S shares with C++ (exception record,
// the EL2 host stack pointer) and the handler of unexpected exceptions.
#include "bm_support.hpp"

extern "C" {
bm::exc_record bm_exc;
bm::u64 bm_host_sp;  // EL2 stack pointer saved by bm_run_guest

// Any exception that is not a probe's expected fault: one FAIL line, then
// the done line, so the run ends with a verdict instead of hanging.
void bm_unexpected(bm::u64 kind, bm::u64 esr, bm::u64 far, bm::u64 elr) {
  bm::print("genpt-bm: unexpected_exception: FAIL vector ");
  bm::print_dec(kind);
  bm::print(" ESR ");
  bm::print_hex(esr);
  bm::print(" FAR ");
  bm::print_hex(far);
  bm::print(" ELR ");
  bm::print_hex(elr);
  bm::print("\n");
  ++bm::g_totals.failed;
  bm::done();
}
}
