// Boost.Test entry for every suite: the compiled library natively, the
// header-only variant in the wasm build (Debian's compiled Boost is host-only).
// Include this FIRST, with BOOST_TEST_MODULE defined, before `import varscope;`.
#pragma once
#if defined(VARSCOPE_BOOST_TEST_HEADER_ONLY)
#include <boost/test/included/unit_test.hpp>
#else
#include <boost/test/unit_test.hpp>
#endif
#include <boost/test/data/test_case.hpp>
