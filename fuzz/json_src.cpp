// Boost.JSON compiled into the fuzz build (header-only mode), so the fuzzer sees its branches.
#include <boost/json/src.hpp>
