// message_of<E>(f): runs f, which must throw E, and returns the message, so a test can
// compare an error's exact text. Any other exception, or none, fails the test (and returns
// ""). Include after support/boost_test.hpp.
#pragma once
#include <exception>
#include <string>
#include <typeinfo>

template <class E, class F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    BOOST_ERROR("expected " << typeid(E).name() << ", got: " << e.what());
    return {};
  }
  BOOST_ERROR("expected an exception, nothing was thrown");
  return {};
}
