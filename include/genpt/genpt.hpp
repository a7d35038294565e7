// genpt/genpt.hpp - umbrella header: every public genpt header except
// genpt/fmt.hpp (which needs {fmt}).
#pragma once

#include "genpt/alloc/fault_injecting.hpp"
#include "genpt/alloc/heap_levels.hpp"
#include "genpt/core/best_pgsize.hpp"
#include "genpt/core/concepts.hpp"
#include "genpt/core/dirty.hpp"
#include "genpt/core/log2.hpp"
#include "genpt/core/result.hpp"
#include "genpt/core/types.hpp"
#include "genpt/flush/commands.hpp"
#include "genpt/flush/flush_range.hpp"
#include "genpt/flush/gather.hpp"
#include "genpt/format/amdv1.hpp"
#include "genpt/format/armv8.hpp"
#include "genpt/format/x86_64.hpp"
#include "genpt/page_table.hpp"
#include "genpt/version.hpp"
