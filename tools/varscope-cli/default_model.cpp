// The trained default model of `varscope decode` / `varscope eval` (issue 12):
// models/dates.json embedded into the binary at build time with clang's #embed
// (CMake passes --embed-dir=<source>/models and lists the file as a dependency,
// so editing the model rebuilds this object). An installed `varscope` therefore
// needs no file next to it; a missing models/dates.json is a compile error.
#include "dates.hpp"

#include <string_view>

namespace varscope_cli {
namespace {

#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wc23-extensions"
constexpr char kDefaultDatesModel[] = {
#embed "dates.json"
};
#pragma clang diagnostic pop

}  // namespace

std::string_view default_dates_model() { return {kDefaultDatesModel, sizeof kDefaultDatesModel}; }

}  // namespace varscope_cli
