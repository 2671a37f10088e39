// varscope.dates.data — the date-normalisation task: calendar arithmetic, Japanese
// eras, source formats with noise, date-hash splits and the character vocabulary.
module;
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
module varscope.dates.data;
import varscope;

namespace varscope::data {

namespace {

constexpr std::array<std::string_view, 12> kMonths = {"January", "February", "March",     "April",   "May",      "June",
                                                      "July",    "August",   "September", "October", "November", "December"};
constexpr std::array<std::string_view, 7> kWeekdays = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};
constexpr std::array<std::string_view, 7> kWeekdayKanji = {"日", "月", "火", "水", "木", "金", "土"};

std::string two(int v) {
  std::string s = std::to_string(v);
  return s.size() < 2 ? "0" + s : s;
}

std::string ordinal(int d) {
  const int mod100 = d % 100;
  const char* suffix = "th";
  if (mod100 < 11 || mod100 > 13) {
    if (d % 10 == 1) suffix = "st";
    else if (d % 10 == 2) suffix = "nd";
    else if (d % 10 == 3) suffix = "rd";
  }
  return std::to_string(d) + suffix;
}

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::uint64_t below(Rng& rng, std::uint64_t n) { return rng.next_u64() % n; }

// The tokens of a format, without noise; separators are their own tokens so the
// noise can space them. `joiners[i]` is the text between token i and i+1.
struct Parts {
  std::vector<std::string> tokens;
  std::vector<std::string> joiners;  // size tokens - 1
};

Parts parts_of(const Date& d, DateFormat f) {
  const std::string y = std::to_string(d.year), m = std::to_string(d.month), dd = std::to_string(d.day);
  const std::string month(kMonths[d.month - 1]);
  switch (f) {
    case DateFormat::day_month_year: return {{dd, month, y}, {" ", " "}};
    case DateFormat::month_abbrev_comma: return {{month.substr(0, 3), dd + ",", y}, {" ", " "}};
    case DateFormat::month_ordinal: return {{month, ordinal(d.day), y}, {" ", " "}};
    case DateFormat::weekday_long:
      return {{std::string(kWeekdays[weekday(d)]) + ",", month, dd + ",", y}, {" ", " ", " "}};
    case DateFormat::us_slash: return {{two(d.month), "/", two(d.day), "/", y}, {"", "", "", ""}};
    case DateFormat::european_dot: return {{two(d.day), ".", two(d.month), ".", y}, {"", "", "", ""}};
    case DateFormat::year_slash: return {{y, "/", m, "/", dd}, {"", "", "", ""}};
    case DateFormat::kanji: return {{y + "年", m + "月", dd + "日"}, {"", ""}};
    case DateFormat::kanji_weekday:
      return {{y + "年", m + "月", dd + "日", "(" + std::string(kWeekdayKanji[weekday(d)]) + ")"}, {"", "", ""}};
    case DateFormat::japanese_era: {
      const EraDate e = japanese_era(d);
      if (e.era.empty()) return parts_of(d, DateFormat::kanji);
      return {{e.era + (e.year == 1 ? std::string("元") : std::to_string(e.year)) + "年", m + "月", dd + "日"}, {"", ""}};
    }
  }
  throw InvalidArgumentError("format_date: unknown DateFormat " + std::to_string(static_cast<int>(f)));
}

std::string apply_case(const std::string& token, int mode) {
  std::string out = token;
  bool first = true;
  for (auto& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || !std::isalpha(u)) {
      first = true;
      continue;
    }
    if (mode == 1) c = static_cast<char>(std::tolower(u));
    else if (mode == 2) c = static_cast<char>(std::toupper(u));
    else if (mode == 3) c = static_cast<char>(first ? std::toupper(u) : std::tolower(u));
    first = false;
  }
  return out;
}

}  // namespace

bool is_valid(const Date& d) noexcept {
  return d.month >= 1 && d.month <= 12 && d.day >= 1 && d.day <= days_in_month(d.year, d.month);
}

int days_in_month(int year, int month) noexcept {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12) return 0;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

std::int64_t days_from_civil(const Date& d) noexcept {
  const std::int64_t y = d.year - (d.month <= 2 ? 1 : 0);
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t mp = (d.month + 9) % 12;
  const std::int64_t doy = (153 * mp + 2) / 5 + d.day - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Date civil_from_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const int year = static_cast<int>(yoe + era * 400 + (month <= 2 ? 1 : 0));
  return {year, month, day};
}

int weekday(const Date& d) noexcept {
  const std::int64_t z = days_from_civil(d);  // 1970-01-01 was a Thursday (4)
  return static_cast<int>(((z + 4) % 7 + 7) % 7);
}

std::string iso(const Date& d) {
  std::string y = std::to_string(d.year);
  while (y.size() < 4) y.insert(y.begin(), '0');
  return y + "-" + two(d.month) + "-" + two(d.day);
}

EraDate japanese_era(const Date& d) {
  const auto z = days_from_civil(d);
  if (z >= days_from_civil({2019, 5, 1})) return {"令和", d.year - 2018};
  if (z >= days_from_civil({1989, 1, 8})) return {"平成", d.year - 1988};
  return {};
}

std::string_view format_name(DateFormat f) noexcept {
  switch (f) {
    case DateFormat::day_month_year: return "day_month_year";
    case DateFormat::month_abbrev_comma: return "month_abbrev_comma";
    case DateFormat::month_ordinal: return "month_ordinal";
    case DateFormat::weekday_long: return "weekday_long";
    case DateFormat::us_slash: return "us_slash";
    case DateFormat::european_dot: return "european_dot";
    case DateFormat::year_slash: return "year_slash";
    case DateFormat::kanji: return "kanji";
    case DateFormat::kanji_weekday: return "kanji_weekday";
    case DateFormat::japanese_era: return "japanese_era";
  }
  return "unknown";
}

std::string format_date(const Date& d, DateFormat format) {
  if (!is_valid(d))
    throw InvalidArgumentError("format_date: " + std::to_string(d.year) + "-" + std::to_string(d.month) + "-" +
                               std::to_string(d.day) + " is not a calendar date; pass a valid Date");
  const Parts p = parts_of(d, format);
  std::string out = p.tokens[0];
  for (std::size_t i = 1; i < p.tokens.size(); ++i) out += p.joiners[i - 1] + p.tokens[i];
  return out;
}

std::string format_date(const Date& d, DateFormat format, Rng& rng) {
  if (!is_valid(d)) return format_date(d, format);  // throws
  Parts p = parts_of(d, format);
  // Case: 0 as written, 1 lower, 2 upper, 3 title.
  const int mode = static_cast<int>(below(rng, 4));
  for (auto& t : p.tokens) t = apply_case(t, mode);
  std::string out;
  if (below(rng, 8) == 0) out += " ";
  out += p.tokens[0];
  for (std::size_t i = 1; i < p.tokens.size(); ++i) {
    std::string j = p.joiners[i - 1];
    const auto r = below(rng, 10);
    if (j == " ") {
      if (r == 0) j = "  ";  // a doubled space
      else if (r == 1) j = "   ";
    } else if (r == 0) {
      j = " ";  // a space around a separator or between kanji groups
    }
    out += j + p.tokens[i];
  }
  if (below(rng, 8) == 0) out += " ";
  return out;
}

std::string_view split_name(Split s) noexcept {
  switch (s) {
    case Split::train: return "train";
    case Split::validation: return "validation";
    case Split::test: return "test";
  }
  return "unknown";
}

Split split_of(const Date& d) noexcept {
  const auto h = splitmix(static_cast<std::uint64_t>(days_from_civil(d)) ^ 0x6461746573ull) % 100;  // "dates"
  return h < 80 ? Split::train : h < 90 ? Split::validation : Split::test;
}

std::vector<Date> dates_of(Split s) {
  std::vector<Date> out;
  for (auto z = days_from_civil(kFirstDate), last = days_from_civil(kLastDate); z <= last; ++z) {
    const Date d = civil_from_days(z);
    if (split_of(d) == s) out.push_back(d);
  }
  return out;
}

DateTask::DateTask(std::uint64_t seed)
    : seed_(seed),
      rngs_{Rng(mix_seed(seed, 1)), Rng(mix_seed(seed, 2)), Rng(mix_seed(seed, 3))},
      dates_{dates_of(Split::train), dates_of(Split::validation), dates_of(Split::test)} {}

DateSample draw_sample(const std::vector<Date>& pool, Rng& rng) {
  if (pool.empty()) throw InvalidArgumentError("draw_sample: the pool of dates is empty; pass dates_of(split)");
  DateSample s;
  s.date = pool[below(rng, pool.size())];
  s.format = static_cast<DateFormat>(below(rng, kDateFormatCount));
  s.source = format_date(s.date, s.format, rng);
  s.target = iso(s.date);
  return s;
}

DateSample DateTask::sample(Split split) {
  const auto k = static_cast<std::size_t>(split);
  return draw_sample(dates_[k], rngs_.at(k));
}

std::vector<DateSample> DateTask::samples(Split split, std::size_t n) {
  std::vector<DateSample> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(sample(split));
  return out;
}

std::vector<DateSample> DateTask::fixed_set(Split split, std::size_t n, std::uint64_t seed) {
  DateTask task(mix_seed(seed, 0xE7A1));
  return task.samples(split, n);
}

std::vector<char32_t> utf8_decode(std::string_view text) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    int n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > text.size())
      throw InvalidArgumentError("utf8_decode: invalid UTF-8 at byte " + std::to_string(i) + " (0x" +
                                 std::string(1, "0123456789abcdef"[b >> 4]) + std::string(1, "0123456789abcdef"[b & 15]) +
                                 "); pass UTF-8 text");
    char32_t cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    for (int k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if ((c >> 6) != 0x2)
        throw InvalidArgumentError("utf8_decode: invalid UTF-8 continuation byte at " + std::to_string(i + k) +
                                   "; pass UTF-8 text");
      cp = (cp << 6) | (c & 0x3F);
    }
    out.push_back(cp);
    i += n;
  }
  return out;
}

std::string utf8_encode(char32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

Vocabulary::Vocabulary(std::vector<char32_t> code_points) : chars_(std::move(code_points)), ascii_(128, kUnk) {
  std::vector<char32_t> sorted = chars_;
  std::sort(sorted.begin(), sorted.end());
  if (auto it = std::adjacent_find(sorted.begin(), sorted.end()); it != sorted.end())
    throw InvalidArgumentError("Vocabulary: code point U+" + std::to_string(static_cast<std::uint32_t>(*it)) +
                               " appears twice; list each character once");
  for (std::size_t i = 0; i < chars_.size(); ++i)
    if (chars_[i] < 128) ascii_[chars_[i]] = kReserved + static_cast<std::int32_t>(i);
}

const Vocabulary& Vocabulary::dates() {
  static const Vocabulary v = [] {
    std::vector<char32_t> cps;
    auto add = [&](std::string_view s) {
      for (char32_t c : utf8_decode(s))
        if (std::find(cps.begin(), cps.end(), c) == cps.end()) cps.push_back(c);
    };
    add(" ,./()-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
    add("年月日令和平成元火水木金土");
    std::sort(cps.begin(), cps.end());
    return Vocabulary(cps);
  }();
  return v;
}

std::int32_t Vocabulary::id_of(char32_t cp) const noexcept {
  if (cp < 128) return ascii_[cp];
  for (std::size_t i = 0; i < chars_.size(); ++i)
    if (chars_[i] == cp) return kReserved + static_cast<std::int32_t>(i);
  return kUnk;
}

std::vector<std::int32_t> Vocabulary::encode(std::string_view text) const {
  std::vector<std::int32_t> ids;
  for (char32_t c : utf8_decode(text)) ids.push_back(id_of(c));
  return ids;
}

std::string Vocabulary::decode(const std::vector<std::int32_t>& ids) const {
  std::string out;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::int32_t id = ids[i];
    if (id < 0 || id >= size())
      throw InvalidArgumentError("Vocabulary::decode: id " + std::to_string(id) + " at position " + std::to_string(i) +
                                 " is outside [0, " + std::to_string(size()) + "); was the model trained with this vocabulary?");
    if (id == kEos) break;
    if (id == kPad || id == kBos) continue;
    out += id == kUnk ? std::string("\xEF\xBF\xBD") : utf8_encode(chars_[id - kReserved]);
  }
  return out;
}

std::string Vocabulary::to_json() const {
  nlohmann::json j;
  j["code_points"] = nlohmann::json::array();
  for (char32_t c : chars_) j["code_points"].push_back(static_cast<std::uint32_t>(c));
  j["reserved"] = {"<pad>", "<bos>", "<eos>", "<unk>"};
  return j.dump();
}

Vocabulary Vocabulary::from_json(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    throw InvalidArgumentError("Vocabulary::from_json: not a JSON object; pass the text of Vocabulary::to_json()");
  const auto it = j.find("code_points");
  if (it == j.end() || !it->is_array())
    throw InvalidArgumentError("Vocabulary::from_json: no \"code_points\" array; is this a dates-task checkpoint?");
  std::vector<char32_t> cps;
  for (const auto& v : *it) {
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() > 0x10FFFF)
      throw InvalidArgumentError("Vocabulary::from_json: code point " + v.dump() + " is not in [0, 0x10FFFF]");
    cps.push_back(static_cast<char32_t>(v.get<std::uint32_t>()));
  }
  return Vocabulary(std::move(cps));
}

}  // namespace varscope::data
