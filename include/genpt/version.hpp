// genpt/version.hpp - library version (CMake's project version matches).
#pragma once

#define GENPT_VERSION_MAJOR 0
#define GENPT_VERSION_MINOR 1
#define GENPT_VERSION_PATCH 0
